#!/usr/bin/env bash
# The Cloudflare Worker (edge/) in workerd, on this machine: its build tools, its
# build, and its tests against `wrangler dev` on 127.0.0.1. Nothing is downloaded
# but crates (cargo install) and npm packages (package-lock.json).
#
#   bash scripts/edge.sh          # setup, build, lint and test: what `scripts/test.sh edge` runs
#   bash scripts/edge.sh setup    # the pinned worker-build and wasm-bindgen-cli, into the tools folder of scripts/tools.sh
#   bash scripts/edge.sh build    # edge/build/ (wrangler.toml's [build] command); skipped when up to date
#   bash scripts/edge.sh lint     # clippy on the Worker's wasm32 code (the host's lint sees only settings)
#   bash scripts/edge.sh test     # the tests below
#
# test:
#   1. every conformance case, each in a namespace of its own, plus the edge's own
#      tests (state survives a restart of `wrangler dev`, namespaces are isolated,
#      parallel writers lose nothing, a write the storage refuses is not kept):
#      `cargo test -p conformance --test edge`, which starts and stops `wrangler dev`;
#   2. the Postman collection with newman, twice (without and with API_TOKEN),
#      each against a fresh `wrangler dev` with an empty store;
#   3. the bundle `wrangler deploy --dry-run` would upload: its size, raw and
#      gzipped; fails past 1 MiB gzipped (the Workers free plan's limit is 3 MiB).
set -euo pipefail
cd "$(dirname "$0")/.."
root="$PWD"

# Pinned build tools. wasm-bindgen-cli must be exactly the wasm-bindgen of Cargo.lock.
worker_build_version=0.8.7
source scripts/tools.sh
tools="$cargo_tools"
wasm_bindgen_version="$(awk '$0 == "name = \"wasm-bindgen\"" { getline; gsub(/version = |"/, ""); print; exit }' Cargo.lock)"

# wrangler stays on loopback; each run below also keeps its config and logs in
# the test's temporary folder (XDG_CONFIG_HOME, WRANGLER_LOG_PATH), out of $HOME.
export WRANGLER_SEND_METRICS=false
# The banner's update check would ask the npm registry for wrangler's latest version.
export WRANGLER_HIDE_BANNER=true
export CLOUDFLARE_CF_FETCH_ENABLED=false

step() { printf '\n==> %s\n' "$*"; }

# installed BINARY VERSION: whether the tools folder of scripts/tools.sh/bin/BINARY reports VERSION.
installed() {
    [[ -x "$tools/bin/$1" ]] && [[ "$("$tools/bin/$1" --version 2>/dev/null | awk '{ print $NF }')" == "$2" ]]
}

stage_setup() {
    if [[ -z "$wasm_bindgen_version" ]]; then
        echo "edge.sh: Cargo.lock has no wasm-bindgen" >&2
        exit 1
    fi
    cargo_tool worker-build worker-build "$worker_build_version" --locked
    # Not --locked: the published lockfile did not resolve here; a plain install does.
    cargo_tool wasm-bindgen wasm-bindgen-cli "$wasm_bindgen_version"
    if [[ ! -x node_modules/.bin/wrangler || ! -e node_modules/.package-lock.json \
        || package-lock.json -nt node_modules/.package-lock.json ]]; then
        step "npm ci"
        npm ci --no-audit --no-fund
    fi
}

stage_build() {
    local out=edge/build/index.js
    if [[ -e $out && -z "$(find edge/src edge/Cargo.toml core/src core/Cargo.toml Cargo.toml Cargo.lock \
        "$tools/bin/worker-build" "$tools/bin/wasm-bindgen" -newer "$out" -print -quit 2>/dev/null)" ]]; then
        echo "edge.sh: $out is up to date" >&2
        return
    fi
    stage_setup
    step "worker-build --profile worker (edge/build/)"
    # worker-build would download wasm-bindgen, wasm-opt and esbuild; these point it at ours.
    (
        cd edge
        export WASM_BINDGEN_BIN="$tools/bin/wasm-bindgen"
        export WASM_OPT_BIN="$root/node_modules/.bin/wasm-opt"
        export ESBUILD_BIN="$root/node_modules/.bin/esbuild"
        "$tools/bin/worker-build" --profile worker
    )
}

stage_lint() {
    step "cargo clippy -p mock-rest-edge --target wasm32-unknown-unknown"
    cargo clippy --locked -p mock-rest-edge --target wasm32-unknown-unknown --all-targets -- -D warnings
}

# The temporary folder of the test stage: wrangler's config, logs and state.
tmp=""
# The `wrangler dev` this script is running now (at most one), and its address.
wrangler_pid=""
base_url=""

stop_wrangler() {
    if [[ -n "$wrangler_pid" ]]; then
        if kill -0 "$wrangler_pid" 2>/dev/null; then
            kill "$wrangler_pid" 2>/dev/null || true
        fi
        wait "$wrangler_pid" 2>/dev/null || true
        echo "edge.sh: stopped wrangler dev (pid $wrangler_pid)" >&2
        wrangler_pid=""
    fi
}

cleanup() {
    stop_wrangler
    if [[ -n "$tmp" ]]; then
        rm -rf "$tmp"
    fi
}

# start_wrangler NAME [SECRETS_FILE]: `wrangler dev` with an empty store in
# $tmp/NAME, its secrets from SECRETS_FILE (a .env file) or none; sets
# wrangler_pid and base_url once it answers. It binds port 0 (its inspector
# too) and names the port it got on its `Ready on http://...` line (printed at
# the `info` log level), so no port is chosen here for another process to take
# before wrangler binds it.
start_wrangler() {
    local name="$1" secrets="${2:-}"
    stop_wrangler
    local dir="$tmp/$name"
    mkdir -p "$dir/state"
    if [[ -z "$secrets" ]]; then
        secrets="$dir/no-secrets.env"
        : >"$secrets"
    fi
    # node runs wrangler's own entry point, so $! is wrangler's PID.
    XDG_CONFIG_HOME="$tmp/config" WRANGLER_LOG_PATH="$tmp/logs" \
        node node_modules/.bin/wrangler dev --ip 127.0.0.1 --port 0 \
        --inspector-ip 127.0.0.1 --inspector-port 0 \
        --persist-to "$dir/state" --env-file "$secrets" \
        --show-interactive-dev-session=false --log-level info \
        </dev/null >"$dir/wrangler.log" 2>&1 &
    wrangler_pid=$!
    base_url=""
    # Ready when /health answers, asked in a namespace of its own so that the
    # default namespace (the collection's) stays untouched.
    for _ in $(seq 1 600); do
        if [[ -z $base_url ]]; then
            base_url="$(grep -o -m 1 'Ready on http://127\.0\.0\.1:[1-9][0-9]*$' "$dir/wrangler.log" | sed 's/^Ready on //' || true)"
        fi
        if [[ -n $base_url ]] &&
            curl -fsS --max-time 5 -o /dev/null -H 'X-Mock-Namespace: edge-sh-ready' "$base_url/health" 2>/dev/null; then
            echo "edge.sh: wrangler dev (pid $wrangler_pid) answers on $base_url" >&2
            return
        fi
        if ! kill -0 "$wrangler_pid" 2>/dev/null; then
            echo "edge.sh: wrangler dev exited before it answered; its log:" >&2
            cat "$dir/wrangler.log" >&2
            exit 1
        fi
        sleep 0.1
    done
    echo "edge.sh: wrangler dev did not answer within 60 s (at ${base_url:-no address yet}); its log:" >&2
    cat "$dir/wrangler.log" >&2
    exit 1
}

stage_test() {
    stage_build
    tmp="$(mktemp -d "${TMPDIR:-/tmp}/mock-rest-edge.XXXXXX")"
    trap cleanup EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM

    step "edge: every conformance case, restarts, namespaces and parallel writers, in wrangler dev"
    XDG_CONFIG_HOME="$tmp/config" WRANGLER_LOG_PATH="$tmp/logs" \
        cargo test --locked -p conformance --test edge

    step "edge: the Postman collection with newman, against fresh wrangler dev"
    local token status_1=0 status_2=0
    token="$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')"
    start_wrangler postman-open
    node_modules/.bin/newman run postman/mock-rest-api.postman_collection.json \
        -e postman/local.postman_environment.json --env-var "base_url=$base_url" --bail || status_1=$?
    printf 'API_TOKEN=%s\n' "$token" >"$tmp/token.env"
    start_wrangler postman-token "$tmp/token.env"
    node_modules/.bin/newman run postman/mock-rest-api.postman_collection.json \
        -e postman/local.postman_environment.json --env-var "base_url=$base_url" \
        --env-var "api_token=$token" --bail || status_2=$?
    stop_wrangler
    if [[ $status_1 -ne 0 || $status_2 -ne 0 ]]; then
        echo "edge.sh: newman failed: without API_TOKEN exit $status_1, with API_TOKEN exit $status_2" >&2
        exit 1
    fi

    step "edge: bundle size (wrangler deploy --dry-run)"
    XDG_CONFIG_HOME="$tmp/config" WRANGLER_LOG_PATH="$tmp/logs" \
        node node_modules/.bin/wrangler deploy --dry-run --outdir "$tmp/bundle" >"$tmp/deploy.log" 2>&1 || {
        cat "$tmp/deploy.log" >&2
        exit 1
    }
    local raw=0 gz=0 file size packed
    while IFS= read -r -d '' file; do
        size=$(wc -c <"$file")
        packed=$(gzip -9c "$file" | wc -c)
        raw=$((raw + size))
        gz=$((gz + packed))
        # wrangler names the wasm after its hash: HASH-index_bg.wasm.
        printf '  %-16s %8d bytes, %8d gzipped\n' "$(basename "$file" | sed 's/^[0-9a-f]*-//')" "$size" "$packed"
    done < <(find "$tmp/bundle" -type f ! -name '*.map' ! -name 'README.md' -print0 | sort -z)
    printf '  %-16s %8d bytes, %8d gzipped (%d KiB)\n' total "$raw" "$gz" $((gz / 1024))
    if ((gz > 1024 * 1024)); then
        echo "edge.sh: the bundle is $gz bytes gzipped, over 1 MiB" >&2
        exit 1
    fi
    # The sizes the docs state are this measurement's.
    python3 scripts/doc-size.py "$gz" "the Worker's bundle, gzipped" \
        README.md 'bundle size \(([0-9,]+) KiB gzipped;' \
        docs/edge.md '\| total \| [0-9,]+ KB \| ([0-9,]+) KiB \|'
    bash scripts/cloudflare-deploy-test.sh "$tmp/bundle"
}

stages=("$@")
[[ ${#stages[@]} -gt 0 ]] || stages=(setup build lint test)
for stage in "${stages[@]}"; do
    case "$stage" in
        setup | build | lint | test) "stage_$stage" ;;
        *) echo "unknown stage '$stage'; stages: setup build lint test" >&2; exit 2 ;;
    esac
done
