#!/usr/bin/env bash
# The whole test suite: lint, types, architecture contracts, tests.
#   bash scripts/test.sh           # everything CI runs
#   bash scripts/test.sh --slow    # also the long fuzz/soak runs (pytest -m slow)
#   bash scripts/test.sh -k codec  # extra arguments go to pytest
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$ROOT"
bash scripts/peers.sh
# the deploy kit's unit is checked by systemd-analyze (tests/unit/test_deploy_kit.py)
if ! command -v systemd-analyze >/dev/null && [[ $(id -u) == 0 ]] && command -v apt-get >/dev/null; then
  echo "== installing systemd (apt-get, for systemd-analyze)"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq systemd >/dev/null
fi
source scripts/browser.sh
source scripts/postgres.sh
echo "== ruff" && ruff check src tests benchmarks scripts && ruff format --check src tests benchmarks scripts
echo "== mypy --strict" && mypy
echo "== import contracts" && lint-imports
echo "== dependency audit" && bash scripts/audit.sh
MARK=()
if [[ "${1:-}" == "--slow" ]]; then shift; MARK=(-m slow); fi
echo "== pytest"
set +e
python -m pytest "${MARK[@]}" "$@"
rc=$?
set -e
# pytest exit 5 = no tests collected: that is a failure, never a pass
if [[ $rc == 5 ]]; then echo "pytest collected no tests" >&2; exit 1; fi
exit $rc
