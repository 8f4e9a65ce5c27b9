#!/usr/bin/env bash
# Soak: mixed traffic against the release server for a few minutes, printing
# throughput, p99, errors and RSS over time. Not part of the test command
# (it measures; it does not pass or fail on timing).
#
#   bash scripts/soak.sh [SECONDS] [--data]     (default 180 s, in memory)
#
# Traffic, at once, each with oha (installed pinned into ~/.cache/mock-rest-api (scripts/tools.sh)):
# POSTs of small items, GETs of a 20-item page, GETs by id of a fixture item,
# and 1 MiB+ bodies that must be refused with 413. With MAX_ITEMS=200000 the
# store fills up and POSTs turn into 507: RSS must then stay flat.
#
# Beside them, slow clients that hold connection slots without using them
# (scripts/slow_clients.py): 300 idle HTTP/2 connections (preface and SETTINGS,
# then silence), 20 pipeliners that ask for a 256 KiB item 200 times and never
# read, and 300 slowloris heads sent a byte a second; each one the server
# closes is opened again. The normal clients' p99 is printed as usual, a new
# connection's time to an answer every 10 s (`new(ms)`), and at the end how long
# the server kept each kind of slow connection (its timeouts at work; pipeliners
# are seen closed a second or two late).
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-180}"
durable="${2:-}"
oha_version=1.16.0
source scripts/tools.sh
cargo_tool oha oha "$oha_version" --locked
tools="$cargo_tools"
oha="$tools/bin/oha"
cargo build --release -p mock-rest-api

work="$(mktemp -d)"
server_pid=""
cleanup() {
    [[ -n "$server_pid" ]] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null
    rm -rf "$work"
}
trap cleanup EXIT

args=(--host 127.0.0.1 --port 0 --max-items 200000)
[[ "$durable" == "--data" ]] && args+=(--data "$work/db.json")
RUST_LOG=warn,mock_rest_api=info target/release/mock-rest-api "${args[@]}" 2> "$work/log" &
server_pid=$!
for _ in $(seq 1 100); do grep -q 'listening on' "$work/log" && break; sleep 0.1; done
base="$(grep -o -m1 'http://127\.0\.0\.1:[0-9]*' "$work/log")"
python3 -c 'import json; print(json.dumps({"people": [{"_id": "ada", "name": "Ada"}], "blobs": [{"_id": "big", "pad": "x" * 262144}]}))' \
    | curl -s -X PUT "$base/__admin/snapshot" --data-binary @- > /dev/null
echo "soak: server pid $server_pid at $base for ${seconds}s ${durable:+(durable)}"

head -c 1100000 /dev/zero | tr '\0' 'x' > "$work/big"
loads=()
run_named() {
    local name=$1
    shift
    "$oha" --no-tui --output-format json -z "${seconds}s" "$@" > "$work/$name.json" 2> /dev/null &
    loads+=($!)
}
run_named post -c 16 -m POST -d '{"name":"soak","n":1}' "$base/api/soak"
run_named page -c 8 "$base/api/soak?_page=3&_limit=20"
run_named byid -c 8 "$base/api/people/ada"
run_named flood -c 2 -m POST -D "$work/big" "$base/api/flood"
python3 scripts/slow_clients.py "${base#http://}" "$seconds" 300 20 300 /api/blobs/big > "$work/slow.txt" &
loads+=($!)

printf '%8s %10s %8s %8s\n' "time(s)" "rss(MiB)" "items" "new(ms)"
for ((t = 0; t < seconds; t += 10)); do
    sleep 10
    rss=$(awk '/VmRSS/ {print int($2/1024)}' "/proc/$server_pid/status")
    # A new client on a new connection: how long until its answer, with the slots under attack.
    new_ms=$(curl -s -o /dev/null --max-time 60 -w '%{time_total}' "$base/health" | awk '{printf "%.1f", $1 * 1000}')
    items=$(curl -s "$base/health" | python3 -c 'import json,sys; print(json.load(sys.stdin)["database"]["total_resources_count"])')
    printf '%8d %10d %8d %8s\n' "$((t + 10))" "$rss" "$items" "$new_ms"
done
wait "${loads[@]}" 2> /dev/null || true

printf '\n%-6s %10s %10s %10s %s\n' scenario "req/s" "p99(ms)" "errors" "statuses"
for name in post page byid flood; do
    python3 - "$work/$name.json" "$name" <<'PY'
import json, sys
report = json.load(open(sys.argv[1]))
summary = report["summary"]
p99 = report["latencyPercentiles"]["p99"] or 0
errors = sum(report.get("errorDistribution", {}).values())
statuses = report.get("statusCodeDistribution", {})
print(f"{sys.argv[2]:<6} {summary['requestsPerSec']:10.0f} {p99 * 1000:10.2f} {errors:10d} {statuses}")
PY
done
cat "$work/slow.txt"
peak=$(awk '/VmHWM/ {print int($2/1024)}' "/proc/$server_pid/status")
echo "peak RSS: ${peak} MiB"
