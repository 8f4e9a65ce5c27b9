#!/usr/bin/env bash
# Tests the Cloudflare deploy (`wrangler deploy`, `wrangler secret put`) on this machine, offline,
# with no Cloudflare account: the real wrangler of package-lock.json against a recording stand-in
# for Cloudflare's API v4 on 127.0.0.1 (deploy/cloudflare/cf_api.py), reached through
# CLOUDFLARE_API_BASE_URL with a dummy token and account.
#
#   bash scripts/cloudflare-deploy-test.sh [DRY_RUN_DIR]
#
#   1. config     wrangler.toml carries the build command, the Durable Object binding, its
#                 migration and the vars; API_TOKEN is not a var
#   2. deploy     the first `wrangler deploy`: the Worker does not exist, so the script is PUT with
#                 its metadata (bindings MOCK_STORE → MockStore, APP_NAME, APP_VERSION, migration v1
#                 with new_sqlite_classes), its main module and the wasm the build made; workers.dev
#                 is switched on and wrangler prints the URL
#   3. secret     `wrangler secret put API_TOKEN`, the value piped on stdin and wrangler logging at
#                 debug level: one PUT of type secret_text with that value, which no output or
#                 log of wrangler holds
#   4. redeploy   a second `wrangler deploy`: a new version (no migration sent again) deployed at
#                 100%
#   5. token      a deploy with a wrong token stops at the first refusal, uploading nothing
#   6. requests   every request went to a route the stand-in knows (else it lists them), with the
#                 token, from wrangler 4.86.0; wrangler connected to nothing but the stand-in
#                 (deploy/cloudflare/netlog.cjs); the dummy account stayed out of the project's
#                 wrangler cache
#   7. dry run    with DRY_RUN_DIR (the `wrangler deploy --dry-run --outdir` of scripts/edge.sh,
#                 which also reports its size): the uploads carry exactly its modules
#
# wrangler builds the Worker itself (wrangler.toml's [build], `bash scripts/edge.sh build`, skipped
# when edge/build is up to date). Run at the end of `bash scripts/edge.sh` (`scripts/test.sh edge`).
set -euo pipefail
cd "$(dirname "$0")/.."
root="$PWD"
dry_run_dir="${1:-}"

step() { printf '\n==> %s\n' "$*"; }

passed=0
failed=0
pass() {
    passed=$((passed + 1))
    printf 'ok: %s\n' "$*"
}
fail() {
    failed=$((failed + 1))
    printf 'FAILED: %s\n' "$*" >&2
}

if [[ ! -e node_modules/wrangler/bin/wrangler.js ]]; then
    echo "cloudflare-deploy-test.sh: no node_modules/wrangler: run bash scripts/test.sh setup" >&2
    exit 1
fi

# --- what this script starts, stopped by PID -----------------------------------------------------

work="$(mktemp -d "${TMPDIR:-/tmp}/cloudflare-deploy-test.XXXXXX")"
api_pid=""
stop_api() {
    if [[ -n "$api_pid" ]]; then
        kill "$api_pid" 2>/dev/null || true
        wait "$api_pid" 2>/dev/null || true
        api_pid=""
    fi
}
cleanup() {
    stop_api
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# --- the stand-in ----------------------------------------------------------------------------------

account=0123456789abcdef0123456789abcdef
token="dummy-token-$RANDOM$RANDOM"
record="$work/requests.jsonl"
: >"$record"
step "the stand-in for Cloudflare's API (deploy/cloudflare/cf_api.py) on 127.0.0.1"
python3 deploy/cloudflare/cf_api.py --port-file "$work/port" --record "$record" \
    --account "$account" --token "$token" </dev/null >"$work/cf_api.log" 2>&1 &
api_pid=$!
for _ in $(seq 1 100); do
    [[ -s "$work/port" ]] && break
    if ! kill -0 "$api_pid" 2>/dev/null; then break; fi
    sleep 0.1
done
if [[ ! -s "$work/port" ]]; then
    cat "$work/cf_api.log" >&2
    echo "cloudflare-deploy-test.sh: the stand-in did not start" >&2
    exit 1
fi
port="$(cat "$work/port")"
cat "$work/cf_api.log"

# --- wrangler, kept local ----------------------------------------------------------------------------

# Nothing of the caller's Cloudflare settings reaches wrangler here.
unset CLOUDFLARE_API_KEY CLOUDFLARE_EMAIL CLOUDFLARE_ENV CLOUDFLARE_COMPLIANCE_REGION \
    CLOUDFLARE_API_ENVIRONMENT WRANGLER_API_ENVIRONMENT CF_API_TOKEN CF_ACCOUNT_ID WRANGLER_LOG \
    WRANGLER_LOG_SANITIZE WRANGLER_OUTPUT_FILE_DIRECTORY WRANGLER_OUTPUT_FILE_PATH
export CLOUDFLARE_API_BASE_URL="http://127.0.0.1:$port/client/v4"
export CLOUDFLARE_API_TOKEN="$token" CLOUDFLARE_ACCOUNT_ID="$account"
# No metrics, no Cloudflare fetch in the build; no banner, which would ask the npm registry
# whether a newer wrangler exists.
export WRANGLER_SEND_METRICS=false CLOUDFLARE_CF_FETCH_ENABLED=false WRANGLER_HIDE_BANNER=true
# Config, logs and cache (where wrangler keeps the account it used) in the temporary folder: a
# later real deploy must not pick up the dummy account from node_modules/.cache/wrangler.
export XDG_CONFIG_HOME="$work/config" WRANGLER_LOG_PATH="$work/logs" WRANGLER_CACHE_DIR="$work/cache"
# A temporary folder of its own: wrangler's update check caches its answer in TMPDIR for an hour,
# which would hide a check from the connection log below.
export TMPDIR="$work/tmp"
mkdir -p "$TMPDIR"
# Every TCP connection wrangler opens, logged by the preload.
export CF_TEST_NETLOG="$work/connections.log"
export NODE_OPTIONS="${NODE_OPTIONS:+$NODE_OPTIONS }--require $root/deploy/cloudflare/netlog.cjs"

project_cache="node_modules/.cache/wrangler"
# cache_state: the project's wrangler cache, listed with times (empty when there is none).
cache_state() { find "$project_cache" -printf '%p %s %T@\n' 2>/dev/null | sort || true; }
cache_before="$(cache_state)"

# wrangler NAME ARG...: `wrangler ARG...` (at most 5 minutes: it may build), its output in
# $work/NAME.out, its exit status in $status; stdin is this function's.
wrangler() {
    local name="$1"
    shift
    status=0
    timeout --kill-after=10 300 node node_modules/wrangler/bin/wrangler.js "$@" >"$work/$name.out" 2>&1 || status=$?
}
# seq_next: the seq the stand-in gives its next request.
seq_next() { echo $(($(wc -l <"$record") + 1)); }
check() { python3 deploy/cloudflare/check.py "$@"; }

# --- 1. config ---------------------------------------------------------------------------------------

step "config: wrangler.toml"
if check config; then
    pass "config: wrangler.toml carries build, Durable Object binding, migration and vars; API_TOKEN is a secret"
else
    fail "config: wrangler.toml"
fi

# --- 2. the first deploy --------------------------------------------------------------------------

step "deploy: wrangler deploy, the Worker new to the account"
from="$(seq_next)"
start=$SECONDS
wrangler deploy deploy </dev/null
sed 's/^/    /' "$work/deploy.out"
if [[ $status != 0 ]]; then
    fail "deploy: wrangler deploy exited $status"
elif check first-deploy "$record" "$from" "$work/deploy.out"; then
    pass "deploy: the first deploy uploads the script with its binding, migration, vars and modules ($((SECONDS - start)) s)"
else
    fail "deploy: the first deploy"
fi

# --- 3. the secret ---------------------------------------------------------------------------------

step "secret: wrangler secret put API_TOKEN, the value on stdin"
export CF_TEST_SECRET="s3cret-$RANDOM$RANDOM-value"
from="$(seq_next)"
printf '%s\n' "$CF_TEST_SECRET" | WRANGLER_LOG=debug wrangler secret secret put API_TOKEN
sed 's/^/    /' "$work/secret.out" | grep -v 'Metrics dispatcher' || true
if [[ $status != 0 ]]; then
    fail "secret: wrangler secret put exited $status"
elif check secret "$record" "$from" "$work/secret.out" "$work/logs" "$work/config" "$work/cache"; then
    pass "secret: API_TOKEN sent as secret_text, its value in no output or log"
else
    fail "secret: wrangler secret put API_TOKEN"
fi
unset CF_TEST_SECRET

# --- 4. a second deploy -----------------------------------------------------------------------------

step "redeploy: wrangler deploy, the Worker deployed already"
from="$(seq_next)"
start=$SECONDS
wrangler redeploy deploy </dev/null
sed 's/^/    /' "$work/redeploy.out"
if [[ $status != 0 ]]; then
    fail "redeploy: wrangler deploy exited $status"
elif check redeploy "$record" "$from" "$work/redeploy.out"; then
    pass "redeploy: a new version without the migration, deployed at 100% ($((SECONDS - start)) s)"
else
    fail "redeploy: the second deploy"
fi

# --- 5. a wrong token ------------------------------------------------------------------------------

step "token: wrangler deploy with a token the API refuses"
from="$(seq_next)"
CLOUDFLARE_API_TOKEN=wrong-token wrangler bad-token deploy </dev/null
sed 's/^/    /' "$work/bad-token.out" | grep -v '^\s*$' | head -n 8
if [[ $status == 0 ]]; then
    fail "token: wrangler deploy succeeded with a wrong token"
elif check bad-token "$record" "$from" "$work/bad-token.out"; then
    pass "token: a refused token fails the deploy (exit $status) before any upload"
else
    fail "token: the deploy with a wrong token"
fi

# --- 6. requests, network, cache ------------------------------------------------------------------

step "requests: what wrangler asked the stand-in"
if check requests "$record" "$token"; then
    pass "requests: every call answered by a known route, with the token, from wrangler 4.86.0"
else
    fail "requests: unknown routes or requests without the token"
fi
step "network: where wrangler connected"
if check network "$CF_TEST_NETLOG" "$port"; then
    pass "network: wrangler reached only the stand-in on 127.0.0.1"
else
    fail "network: wrangler connected elsewhere"
fi
if [[ "$(cache_state)" == "$cache_before" ]] &&
    grep -qrF "$account" "$work/cache" 2>/dev/null; then
    pass "cache: the dummy account is in the test's cache, $project_cache untouched"
else
    fail "cache: wrangler's account cache went elsewhere than $work/cache"
fi

# --- 7. the dry run --------------------------------------------------------------------------------

if [[ -n "$dry_run_dir" ]]; then
    step "dry run: the uploads against the bundle of wrangler deploy --dry-run ($dry_run_dir)"
    if check same-bundle "$record" "$dry_run_dir"; then
        pass "dry run: what deploy uploads is what --dry-run bundled"
    else
        fail "dry run: the uploads differ from the dry run's bundle"
    fi
fi

stop_api
printf '\ncloudflare deploy: %d passed, %d failed\n' "$passed" "$failed"
[[ $failed == 0 ]]
