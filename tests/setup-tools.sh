#!/usr/bin/env bash
# Install what the browser, accessibility and validity checks need, when it is missing:
# Debian's Chromium (never Playwright's download) and the npm packages pinned in tests/.
set -euo pipefail
cd "$(dirname "$0")"

if ! command -v chromium >/dev/null 2>&1; then
  if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  else
    echo "Chromium is missing: install Debian's chromium package (sudo apt-get install chromium)." >&2
    exit 1
  fi
fi

if [ -f package.json ] && [ ! -d node_modules ]; then
  npm ci --no-audit --no-fund --ignore-scripts --loglevel=error
fi
