# Sourced by the other scripts: a project-local virtual environment with smppgate and its
# test dependencies, created on first use and refreshed when pyproject.toml changes.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
VENV="$ROOT/.venv"
PY="$VENV/bin/python"
if [[ ! -x $PY ]]; then
  python3 -m venv "$VENV"
fi
# the package's metadata (its version comes from src/smppgate/__init__.py) is refreshed when
# any of these change
STAMP="$VENV/.installed-$(cat "$ROOT/pyproject.toml" "$ROOT/constraints.txt" \
  "$ROOT/src/smppgate/__init__.py" | sha256sum | cut -c1-16)"
if [[ ! -f $STAMP ]]; then
  "$PY" -m pip install -q --disable-pip-version-check --upgrade pip
  # the exact versions CI tests with (constraints.txt), never whatever is newest today
  "$PY" -m pip install -q --disable-pip-version-check -c "$ROOT/constraints.txt" -e "$ROOT[test]"
  touch "$STAMP"
fi
export PATH="$VENV/bin:$PATH"
