#!/usr/bin/env bash
# The main job on a fresh machine: `smppgate serve` with its built-in platform emulator and
# SQLite (./data), real traffic end to end through the HTTP API, then a graceful stop.
#   bash scripts/demo.sh          # run the demo and stop
#   bash scripts/demo.sh --keep   # leave the gateway running afterwards (Ctrl-C to stop)
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$ROOT"
exec python scripts/demo.py "$@"
