#!/usr/bin/env bash
# Installs what a fresh machine lacks for hallq: a virtualenv with the project and its test tools,
# and (as root, on Debian) the CJK font the virtual printer renders tickets with.
set -euo pipefail
cd "$(dirname "$0")/.."

want_tests="${1:-}"
py="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
  "$py" -m venv .venv
fi
stamp=".venv/.installed${want_tests:+-test}"
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  .venv/bin/python -m pip install --quiet --upgrade pip
  if [ -n "$want_tests" ]; then
    .venv/bin/python -m pip install --quiet -e '.[test]'
  else
    .venv/bin/python -m pip install --quiet -e .
  fi
  touch "$stamp"
fi

# The virtual printer draws Chinese tickets with a CJK font; install one where we can. fc-list's output is
# read whole first: `fc-list | grep -q` under pipefail fails when grep stops at the first match and fc-list,
# still writing, is killed by SIGPIPE (a false "no font", and apt-get again, on most starts).
fonts="$(fc-list 2>/dev/null || true)"
if ! grep -qi -e 'wqy' -e 'noto.*cjk' <<<"$fonts"; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq fonts-wqy-zenhei fontconfig) \
      >/dev/null 2>&1 || echo "warning: could not install fonts-wqy-zenhei; ticket PNGs will lack Chinese glyphs" >&2
  fi
fi

# tests/integration/test_deploy.py checks deploy/nginx.conf with `nginx -t` (and openssl for a test certificate).
if [ -n "$want_tests" ] && ! command -v nginx >/dev/null && [ ! -x /usr/sbin/nginx ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "installing Debian's nginx for the deploy/ tests..." >&2
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx-light openssl) >/dev/null \
      || { echo "error: could not install nginx with apt-get; the deploy/ tests need it" >&2; exit 1; }
  else
    echo "error: nginx is missing; the deploy/ tests need it ('sudo apt-get install nginx-light')." >&2
    exit 1
  fi
fi

# The call screen's server-side voice (display/speech.py) speaks with espeak-ng's Mandarin voice `cmn`.
if ! command -v espeak-ng >/dev/null; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "installing espeak-ng for the call screen's voice..." >&2
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq espeak-ng) >/dev/null \
      || echo "warning: could not install espeak-ng; displays without a zh-CN browser voice stay silent" >&2
  else
    echo "warning: espeak-ng is missing: 'sudo apt-get install espeak-ng' for the call screen's voice" >&2
  fi
fi

# Browser tests (tests/browser) drive Debian's Chromium through Playwright; `playwright install` is never used.
if [ -n "$want_tests" ] && [ ! -x /usr/bin/chromium ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "installing Debian's chromium for the browser tests..." >&2
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-wqy-zenhei) >/dev/null \
      || { echo "error: could not install chromium with apt-get; the browser tests need /usr/bin/chromium" >&2; exit 1; }
  else
    echo "error: /usr/bin/chromium is missing; the browser tests need it." >&2
    echo "       run 'sudo bash scripts/bootstrap.sh test' or 'sudo apt-get install chromium' (Debian/Ubuntu)" >&2
    exit 1
  fi
fi
