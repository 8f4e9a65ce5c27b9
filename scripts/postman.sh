#!/usr/bin/env bash
# Run the Postman collection with newman twice, each time against its own
# freshly started release build of the server (a fresh server has an empty
# store, which the collection relies on). The release build is the static one
# (x86_64-unknown-linux-musl) that the container image and the Elastic
# Beanstalk bundle ship, built once for the deploy, postman and docker stages
# (static_binary in scripts/tools.sh):
#
#   run 1: the server without API_TOKEN, newman with an empty api_token;
#   run 2: the server with API_TOKEN=<a random token made here>, newman with
#          --env-var api_token=<the same token>.
#
# Both runs always happen; exits non-zero if either fails.
#
# MOCK_REST_SERVER=COMMAND runs that server instead of the release build (scripts/node.sh
# sets it to the npm package's `mock-rest-api`); it must take --host and --port and log
# `listening on http://...` to stderr, as the binary does.
set -euo pipefail

cd "$(dirname "$0")/.."

# Install newman (pinned in package-lock.json) only when needed.
if [[ ! -x node_modules/.bin/newman ]] \
    || [[ ! -e node_modules/.package-lock.json ]] \
    || [[ package-lock.json -nt node_modules/.package-lock.json ]]; then
    npm ci --no-audit --no-fund
fi

server_command="${MOCK_REST_SERVER:-}"
if [[ -z "$server_command" ]]; then
    source scripts/tools.sh
    server_command="$(static_binary)"
fi

# The server this script started and is running now (at most one at a time).
server_pid=""
server_log=""
base_url=""

# stop_server: stops the server this script started, by its PID, and waits for it.
stop_server() {
    if [[ -n "$server_pid" ]]; then
        if kill -0 "$server_pid" 2>/dev/null; then
            kill "$server_pid" 2>/dev/null || true
        fi
        wait "$server_pid" 2>/dev/null || true
        echo "postman.sh: stopped the server (pid $server_pid)" >&2
        server_pid=""
    fi
    if [[ -n "$server_log" ]]; then
        rm -f "$server_log"
        server_log=""
    fi
}

trap stop_server EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# start_server [TOKEN]: starts a fresh server on a free port of 127.0.0.1, with
# API_TOKEN=TOKEN when TOKEN is given and without API_TOKEN otherwise, and sets
# server_pid and base_url once it is listening.
start_server() {
    local token="${1:-}"
    stop_server
    server_log="$(mktemp "${TMPDIR:-/tmp}/mock-rest-api-postman.XXXXXX")"
    # The collection expects the server's defaults: drop any settings the
    # caller's environment has that change what it answers. The token goes in
    # the environment, not on a command line. `exec` keeps the subshell's PID,
    # so $! is the server's own PID.
    (
        unset API_TOKEN AUTH_SCOPE DATA_FILE DELAY_MS JOURNAL_SIZE CORS_ORIGINS MAX_BODY_BYTES
        export RUST_LOG=info # the `listening on` line is logged at info
        if [[ -n "$token" ]]; then
            export API_TOKEN="$token"
        fi
        exec "$server_command" --host 127.0.0.1 --port 0 2>"$server_log"
    ) &
    server_pid=$!

    # Wait (at most 30 s) for the server to report its address.
    base_url=""
    for _ in $(seq 1 300); do
        if grep -q 'listening on http://' "$server_log"; then
            base_url="$(grep -o -m 1 'listening on http://127\.0\.0\.1:[0-9]\+' "$server_log" | head -n 1 | sed 's/^listening on //' || true)"
            break
        fi
        if ! kill -0 "$server_pid" 2>/dev/null; then
            echo "postman.sh: the server exited before it was listening; its log:" >&2
            cat "$server_log" >&2
            exit 1
        fi
        sleep 0.1
    done

    if [[ -z "$base_url" ]]; then
        echo "postman.sh: no 'listening on http://127.0.0.1:PORT' line within 30 s; server log:" >&2
        cat "$server_log" >&2
        exit 1
    fi

    echo "postman.sh: server (pid $server_pid) is listening on $base_url" >&2
}

# run_newman LABEL [NEWMAN ARGS...]: runs the collection against the server
# that is running; returns newman's status.
run_newman() {
    local label="$1"
    shift
    echo "postman.sh: newman, $label, against $base_url" >&2
    node_modules/.bin/newman run postman/mock-rest-api.postman_collection.json \
        -e postman/local.postman_environment.json \
        --env-var "base_url=$base_url" \
        "$@" \
        --bail
}

# A random token for the authorised run: 32 hex digits from /dev/urandom.
token="$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')"
if [[ ! "$token" =~ ^[0-9a-f]{32}$ ]]; then
    echo "postman.sh: could not make a random token from /dev/urandom" >&2
    exit 1
fi

label_1="run 1 of 2 (no API_TOKEN)"
label_2="run 2 of 2 (API_TOKEN set, bearer token sent)"

echo "postman.sh: ===== $label_1 =====" >&2
start_server
status_1=0
run_newman "$label_1" || status_1=$?
stop_server

echo "postman.sh: ===== $label_2 =====" >&2
start_server "$token"
status_2=0
run_newman "$label_2" --env-var "api_token=$token" || status_2=$?
stop_server

result() { if [[ "$1" -eq 0 ]]; then echo "passed"; else echo "FAILED (newman exit $1)"; fi; }
echo "postman.sh: $label_1: $(result "$status_1")" >&2
echo "postman.sh: $label_2: $(result "$status_2")" >&2

if [[ "$status_1" -ne 0 || "$status_2" -ne 0 ]]; then
    exit 1
fi
