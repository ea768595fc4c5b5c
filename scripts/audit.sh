#!/usr/bin/env bash
# Known advisories of the pinned dependencies (constraints.txt), with pip-audit.
#   bash scripts/audit.sh
# A dependency with a known vulnerability fails (exit 1). When the advisory database cannot be
# reached (offline, or a package mirror without PyPI's vulnerability API) every package comes
# back "not found": the audit says it was skipped and does not fail, so an offline CI run is not
# red for a reason that has nothing to do with the change under test.
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$ROOT"
REPORT=$(mktemp)
trap 'rm -f "$REPORT"' EXIT
set +e
# --no-deps --disable-pip: audit exactly the pinned versions, without resolving anything
timeout 120 pip-audit --progress-spinner off --no-deps --disable-pip -r constraints.txt \
  -f json -o "$REPORT" 2>/dev/null
rc=$?
set -e
python - "$REPORT" "$rc" <<'PY'
import json, sys
path, rc = sys.argv[1], int(sys.argv[2])
try:
    report = json.load(open(path, encoding="utf-8"))
except (OSError, ValueError):
    print("== audit skipped: pip-audit could not reach an advisory database")
    sys.exit(0)
deps = report.get("dependencies", [])
audited = [d for d in deps if "skip_reason" not in d]
vulnerable = [d for d in audited if d.get("vulns")]
for dep in vulnerable:
    for vuln in dep["vulns"]:
        fixed = ", ".join(vuln.get("fix_versions", [])) or "no fix yet"
        print(f"{dep['name']} {dep['version']}: {vuln['id']} (fixed in {fixed})")
if vulnerable:
    sys.exit(1)
if not audited:
    print(f"== audit skipped: the advisory database was not reachable ({len(deps)} packages)")
    sys.exit(0)
print(f"== audit: no known vulnerabilities in {len(audited)} pinned packages")
sys.exit(0 if rc in (0, 1) else rc)
PY
