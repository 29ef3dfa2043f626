#!/usr/bin/env bash
# Run sqlmap against the booking form and the slots endpoint of a real server on loopback.
# Prints sqlmap's findings and exits 1 if it identifies any injection point.
# Usage: bash tests/security/sqlmap.sh [BASE_URL]   (without a URL it starts `serve` itself)
set -euo pipefail
cd "$(dirname "$0")/../.."
command -v sqlmap >/dev/null || { echo "sqlmap is missing: apt-get install sqlmap" >&2; exit 2; }

work=$(mktemp -d)
base="${1:-}"
server_pid=""
cleanup() { [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null; wait 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT

if [ -z "$base" ]; then
  port=$(python -c "import socket; s=socket.socket(); s.bind(('127.0.0.1',0)); print(s.getsockname()[1])")
  DATABASE_URL="${DATABASE_URL:-sqlite:///$work/sqlmap.db}" SECRET_KEY=sqlmap-run \
    BOOKING_RATE_LIMIT="100000 per minute" CLINIC_STAFF_EMAILS="" \
    python -m flask --app clinic serve --port "$port" --workers 2 >"$work/serve.log" 2>&1 &
  server_pid=$!
  base="http://127.0.0.1:$port"
  for _ in $(seq 1 100); do curl -fs "$base/healthz" >/dev/null 2>&1 && break; sleep 0.2; done
fi

day=$(python - "$base" <<'PY'
import json, re, sys, urllib.request
html = urllib.request.urlopen(sys.argv[1] + "/book?clinic=london").read().decode()
print(re.search(r'<option value="(\d{4}-\d\d-\d\d)"', html).group(1))
PY
)
common=(--batch --level 2 --risk 1 --disable-coloring --flush-session --output-dir "$work/out"
        --technique BEUST --time-sec 2 --answers "follow=N")
failed=0
run() {
  echo "== sqlmap $*"
  sqlmap "${common[@]}" "$@" < /dev/null > "$work/run.log" 2>&1 || true
  [ -n "${SQLMAP_LOG:-}" ] && cp "$work/run.log" "$SQLMAP_LOG.$RANDOM"
  if grep -E "identified the following injection point|is vulnerable" "$work/run.log"; then
    failed=1
  elif grep -q "all tested parameters do not appear to be injectable" "$work/run.log"; then
    grep -cE "testing for SQL injection on" "$work/run.log" | sed 's/^/parameters tested: /'
  else
    echo "sqlmap did not finish its tests:" >&2; grep -E "CRITICAL|ERROR" "$work/run.log" >&2 || true
    failed=1
  fi
}
run -u "$base/book/slots?clinic=london&date=$day" -p "clinic,date" --threads 2
run -u "$base/book" --csrf-token csrf_token --csrf-url "$base/book?clinic=london" \
    --data "clinic=london&slot=${day}T09:00:00%2B00:00&name=Test+Person&email=test%40example.com&phone=07911123456&message=hello&consent=y&from=amitriptyline-for-back-pain&utm_source=google&action=book&csrf_token=x" \
    -p "clinic,slot,name,email,phone,message,from,utm_source"
if [ "$failed" = 1 ]; then echo "sqlmap: FAILED" >&2; exit 1; fi
echo "sqlmap: no injection found"
