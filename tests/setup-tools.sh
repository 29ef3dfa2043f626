#!/usr/bin/env bash
# Install what the browser, accessibility, validity and backup checks need, when it is
# missing: PostgreSQL's client tools, Debian's Chromium (never Playwright's download) and the
# npm packages pinned in tests/.
set -euo pipefail
cd "$(dirname "$0")"

missing=""
command -v chromium >/dev/null 2>&1 || missing="$missing chromium"
command -v sqlmap >/dev/null 2>&1 || missing="$missing sqlmap"
command -v java >/dev/null 2>&1 || missing="$missing default-jre-headless"
# pg_dump and pg_restore, for the backup tests on PostgreSQL.
command -v pg_dump >/dev/null 2>&1 || missing="$missing postgresql-client"
# nginx, for the two-host test behind the production proxy config in .deploy/.
command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || missing="$missing nginx"
if [ -n "$missing" ]; then
  if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing >/dev/null
  else
    echo "Missing:$missing. Install Debian's packages: sudo apt-get install$missing" >&2
    exit 1
  fi
fi

if [ -f package.json ] && [ ! -d node_modules ]; then
  npm ci --no-audit --no-fund --ignore-scripts --loglevel=error
fi
