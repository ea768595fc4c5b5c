#!/usr/bin/env bash
# Independent SMPP peers for interop tests that are not Python packages: node's `smpp`.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
NODE_DIR="$ROOT/tests/interop/node"
if ! command -v npm >/dev/null; then
  if [[ $(id -u) == 0 ]] && command -v apt-get >/dev/null; then
    apt-get update -qq && apt-get install -y -qq nodejs npm >/dev/null
  else
    echo "node and npm are needed for the interop tests (apt-get install nodejs npm)" >&2; exit 1
  fi
fi
if [[ ! -d $NODE_DIR/node_modules/smpp ]]; then
  (cd "$NODE_DIR" && npm ci --no-audit --no-fund --silent)
fi
