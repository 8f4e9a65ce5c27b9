#!/usr/bin/env bash
# Run the Postman collection with newman against a freshly started release
# build of the server (a fresh server has an empty store, which the collection
# relies on). Exits with newman's status.
set -euo pipefail

cd "$(dirname "$0")/.."

# Install newman (pinned in package-lock.json) only when needed.
if [[ ! -x node_modules/.bin/newman ]] \
    || [[ ! -e node_modules/.package-lock.json ]] \
    || [[ package-lock.json -nt node_modules/.package-lock.json ]]; then
    npm ci --no-audit --no-fund
fi

cargo build --release -p mock-rest-api

log="$(mktemp "${TMPDIR:-/tmp}/mock-rest-api-postman.XXXXXX")"
server_pid=""

cleanup() {
    if [[ -n "$server_pid" ]] && kill -0 "$server_pid" 2>/dev/null; then
        kill "$server_pid" 2>/dev/null || true
        wait "$server_pid" 2>/dev/null || true
    fi
    rm -f "$log"
}
trap cleanup EXIT

target/release/mock-rest-api --host 127.0.0.1 --port 0 2>"$log" &
server_pid=$!

# Wait (at most 30 s) for the server to report its address.
base_url=""
for _ in $(seq 1 300); do
    if grep -q 'listening on http://' "$log"; then
        base_url="$(grep -o -m 1 'listening on http://127\.0\.0\.1:[0-9]\+' "$log" | head -n 1 | sed 's/^listening on //' || true)"
        break
    fi
    if ! kill -0 "$server_pid" 2>/dev/null; then
        echo "postman.sh: the server exited before it was listening; its log:" >&2
        cat "$log" >&2
        exit 1
    fi
    sleep 0.1
done

if [[ -z "$base_url" ]]; then
    echo "postman.sh: no 'listening on http://127.0.0.1:PORT' line within 30 s; server log:" >&2
    cat "$log" >&2
    exit 1
fi

echo "postman.sh: server (pid $server_pid) is listening on $base_url" >&2

status=0
node_modules/.bin/newman run postman/mock-rest-api.postman_collection.json \
    -e postman/local.postman_environment.json \
    --env-var "base_url=$base_url" \
    --bail || status=$?
exit "$status"
