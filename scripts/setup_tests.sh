#!/usr/bin/env bash
# Installs everything the test suite needs on a fresh Debian-based machine: the Python packages,
# Debian's Chromium for the real-browser test, PostgreSQL server binaries for the ledger tests and
# Poppler's pdftoppm/pdftotext (poppler-utils) for the client proposal PDF test.
# Debian is assumed (Ubuntu's chromium package is a snap, which does not run in containers).
set -euo pipefail
cd "$(dirname "$0")/.."

python -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt

need=()
[ -x /usr/bin/chromium ] || need+=(chromium)
compgen -G "/usr/lib/postgresql/*/bin/initdb" > /dev/null || need+=(postgresql)
{ command -v pdftoppm && command -v pdftotext; } > /dev/null || need+=(poppler-utils)
if [ ${#need[@]} -gt 0 ]; then
  sudo=""
  if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
  if [ -n "$sudo" ] && ! command -v sudo > /dev/null; then
    echo "setup_tests: need root or sudo to install: ${need[*]}" >&2
    exit 1
  fi
  apt=($sudo env DEBIAN_FRONTEND=noninteractive apt-get -y -qq)
  "${apt[@]}" install --no-install-recommends "${need[@]}" \
    || { "${apt[@]}" update && "${apt[@]}" install --no-install-recommends "${need[@]}"; }
fi
