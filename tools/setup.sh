#!/usr/bin/env bash
# Idempotent set-up: R and headless Chromium from Debian (when root and missing), and the
# Python packages in .venv (pinned by constraints.txt).
# Fast the second time: each step is skipped when what it installs is already there.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-.venv}
DEBIAN_PACKAGES="r-base-core r-base-dev r-cran-sandwich r-cran-lmtest r-cran-jsonlite chromium chromium-driver"

missing=""
for p in $DEBIAN_PACKAGES; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "setup: installing from Debian:$missing"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing >/dev/null
  else
    echo "setup: Debian packages missing ($missing) and not root: the R cross-check reports skipped and the browser test skips" >&2
  fi
fi

stamp="$VENV/.installed"
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ] || [ constraints.txt -nt "$stamp" ]; then
  [ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
  # This machine's pip configuration warns about absent local indexes: keep them out of the log.
  "$VENV/bin/python" -m pip install -q --disable-pip-version-check -c constraints.txt -e '.[dev]' 2>&1 \
    | { grep -v "is ignored: it is neither a file nor a directory" || true; }
  [ "${PIPESTATUS[0]}" = 0 ] || { echo "setup: pip install failed" >&2; exit 1; }
  touch "$stamp"
fi
