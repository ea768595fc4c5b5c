# Sourced by test.sh: the system Chromium the ops page's end-to-end test drives through
# Playwright. Debian's `chromium` package, installed with apt-get when missing (as root); never
# a Playwright browser download. Exports SMPPGATE_CHROMIUM with the executable's path.
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1
_smppgate_chromium() {
  local candidate
  for candidate in "${SMPPGATE_CHROMIUM:-}" /usr/bin/chromium /usr/bin/chromium-browser; do
    if [[ -n $candidate && -x $candidate ]]; then echo "$candidate"; return 0; fi
  done
  return 1
}
if ! SMPPGATE_CHROMIUM=$(_smppgate_chromium); then
  if [[ $(id -u) == 0 ]] && command -v apt-get >/dev/null; then
    echo "== installing chromium (apt-get) for the ops page test"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
    SMPPGATE_CHROMIUM=/usr/bin/chromium
  else
    # the e2e test fails (never skips) without it; say how to get it
    echo "chromium is needed for the ops page test (apt-get install chromium)" >&2
    SMPPGATE_CHROMIUM=
  fi
fi
export SMPPGATE_CHROMIUM
unset -f _smppgate_chromium
