#!/usr/bin/env bash
# Runs every test of mock-rest-api, installing what it needs first.
#
#   bash scripts/test.sh                        # everything (what CI runs)
#   bash scripts/test.sh STAGE...               # only these stages, in the order given
#   bash scripts/test.sh --repeat N [STAGE...]  # those stages (or all) N times over, to find a
#                                               # flake: each run's output in a file of its own,
#                                               # the failed runs' tails and files at the end
#
# A run stops at the first stage that fails, and ends, passed or not, with a table of the
# stages: seconds and result.
#
# Stages:
#   setup    rustup's wasm32 target; npm packages from package-lock.json; a Python venv with
#            tests/openapi/requirements.txt (each only when missing or stale; pinned tools
#            live in ~/.cache/mock-rest-api, see scripts/tools.sh)
#   lint     cargo fmt --check; cargo clippy --all-targets -D warnings
#   core     the engine's unit tests and doctests, its wasm32 build, and every
#            conformance case replayed against it in-process
#   native   the server's own tests, every conformance case replayed against the
#            real binary (a fresh process per case), its /openapi.json validated, and its
#            answers on the same db.json compared with json-server 0.17's and 1.0's
#            (tests/json-server/compare.mjs; json-server from package-lock.json), and
#            json-server's own tests replayed against --json-server (own-tests.mjs)
#   deploy   deploy.sh (AWS Elastic Beanstalk): its musl bundle checked and run, its
#            --dry-run against a golden file, whole deploys against moto's server with
#            the pinned AWS CLI (scripts/deploy-test.sh; installs its tools once)
#   edge     the Cloudflare Worker (edge/): its pinned build tools (once), its wasm
#            build, clippy for wasm32, then in `wrangler dev` every conformance case,
#            restarts, namespaces, parallel writers, the Postman collection, its
#            bundle size, and wrangler deploy against a stand-in for Cloudflare's API
#            (scripts/edge.sh, scripts/cloudflare-deploy-test.sh)
#   browser  the service worker (web-engine/, web/): wasm-bindgen-cli (once) and Debian's
#            chromium (when missing), its wasm build into web/dist/, clippy for wasm32, then
#            in headless Chromium every conformance case through fetch(), the first fetch,
#            passthrough, data across reloads, worker stops and a browser restart, two
#            tabs, the demo page, round-trip times and sizes (scripts/browser.sh)
#   node     the npm package (npm/): its wasm build for Node, `npm pack`, the tarball installed
#            into a fresh project, then every conformance case and the Postman collection against
#            `npx mock-rest-api`, node:test tests of createMock, the command and `init`, a vitest
#            project, a Vite app with startMock in headless Chromium, and tsc --noEmit on a typed
#            consumer (scripts/node.sh)
#   postman  the Postman collection, run by newman against the release binary
#   docker   the container image (Dockerfile, FROM scratch): docker.io (when missing), the static
#            musl binary, the image built and run in a Docker engine started and stopped here, then
#            every conformance case against the image, one container per case (scripts/docker.sh)
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/tools.sh
# Incremental builds pay off only while the code is being edited; a test run's
# incremental caches took a third of target/ for nothing.
export CARGO_INCREMENTAL="${CARGO_INCREMENTAL:-0}"

all_stages=(setup lint core native deploy edge browser node postman docker)

step() { printf '\n==> %s\n' "$*"; }

stage_setup() {
    if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
        step "rustup target add wasm32-unknown-unknown"
        rustup target add wasm32-unknown-unknown
    fi
    if [[ ! -e node_modules/.package-lock.json || package-lock.json -nt node_modules/.package-lock.json ]]; then
        step "npm ci"
        npm ci --no-audit --no-fund
    fi
    python_venv openapi tests/openapi/requirements.txt > /dev/null
}

stage_lint() {
    step "cargo fmt --check"
    cargo fmt --all --check
    step "cargo clippy"
    cargo clippy --workspace --all-targets --locked -- -D warnings
}

stage_core() {
    step "engine: unit tests and doctests"
    cargo test --locked -p mock-rest-core
    step "engine: builds for wasm32-unknown-unknown"
    cargo build --locked -p mock-rest-core --target wasm32-unknown-unknown
    step "conformance: runner's own tests, then every case against the engine"
    cargo test --locked -p conformance --lib --test core
}

stage_native() {
    step "native: build"
    cargo build --locked -p mock-rest-api
    step "native: the host's own tests"
    cargo test --locked -p mock-rest-api
    step "conformance: every case against the mock-rest-api binary"
    cargo test --locked -p conformance --test native
    step "openapi: /openapi.json of the binary is valid OpenAPI 3.1 and matches its routes"
    "$(python_venv openapi tests/openapi/requirements.txt)/bin/python" tests/openapi/validate.py target/debug/mock-rest-api
    step "json-server: json-server 0.17 and 1.0 and the binary agree on the same db.json, but where docs/json-server.md says"
    node tests/json-server/compare.mjs target/debug/mock-rest-api
    step "json-server: json-server's own tests (0.17.4's and 1.0.0-beta.15's) replayed over HTTP against --json-server"
    node tests/json-server/own-tests.mjs target/debug/mock-rest-api
}

stage_deploy() {
    step "deploy: deploy.sh checked offline (scripts/deploy-test.sh)"
    bash scripts/deploy-test.sh
}

stage_edge() {
    step "edge: the Worker in wrangler dev (scripts/edge.sh)"
    bash scripts/edge.sh
}

stage_browser() {
    step "browser: the service worker in headless Chromium (scripts/browser.sh)"
    bash scripts/browser.sh
}

stage_node() {
    step "node: the npm package, packed and installed (scripts/node.sh)"
    bash scripts/node.sh
}

stage_postman() {
    step "postman: newman against the release binary"
    bash scripts/postman.sh
}

stage_docker() {
    step "docker: the image, built and run (scripts/docker.sh)"
    bash scripts/docker.sh
}

# --repeat N STAGE...: runs `bash scripts/test.sh STAGE...` N times, each to a log file of its own
# under target/test-repeat/, goes on after a failed run, then prints the tail of each failed run's
# log and its path; fails if any run failed.
repeat() {
    local times=$1
    shift
    local dir run start status failed=() passed=0
    dir="target/test-repeat/$(date +%Y%m%d-%H%M%S)-$$"
    mkdir -p "$dir"
    for ((run = 1; run <= times; run++)); do
        step "run $run of $times: bash scripts/test.sh ${*:-(every stage)} > $dir/run-$run.log"
        start=$SECONDS
        status=0
        bash scripts/test.sh "$@" >"$dir/run-$run.log" 2>&1 || status=$?
        if [[ $status -eq 0 ]]; then
            passed=$((passed + 1))
            printf '    run %d passed in %d s\n' "$run" $((SECONDS - start))
        else
            failed+=("$run")
            printf '    run %d FAILED (exit %d) in %d s: %s\n' "$run" "$status" $((SECONDS - start)) \
                "$(grep -m 1 -o 'FAILED at stage .*' "$dir/run-$run.log" || echo 'see its log')"
        fi
    done
    for run in "${failed[@]}"; do
        step "run $run FAILED: the last 80 lines of $dir/run-$run.log"
        tail -n 80 "$dir/run-$run.log"
    done
    step "$times runs of ${*:-every stage}: $passed passed, ${#failed[@]} failed; logs in $dir"
    for run in "${failed[@]}"; do
        echo "    run $run FAILED: $dir/run-$run.log"
    done
    [[ ${#failed[@]} -eq 0 ]]
}

if [[ ${1:-} == --repeat ]]; then
    if [[ ! ${2:-} =~ ^[1-9][0-9]*$ ]]; then
        echo "--repeat takes a number of runs (1 or more), not '${2:-}'" >&2
        exit 2
    fi
    times=$2
    shift 2
    for stage in "$@"; do
        [[ " ${all_stages[*]} " == *" $stage "* ]] ||
            { echo "unknown stage '$stage'; stages: ${all_stages[*]}" >&2; exit 2; }
    done
    repeat "$times" "$@"
    exit
fi

stages=("$@")
[[ ${#stages[@]} -gt 0 ]] || stages=("${all_stages[@]}")
for stage in "${stages[@]}"; do
    [[ " ${all_stages[*]} " == *" $stage "* ]] ||
        { echo "unknown stage '$stage'; stages: ${all_stages[*]}" >&2; exit 2; }
done
# Every stage but lint needs the installs.
if [[ " ${stages[*]} " != *" setup "* && " ${stages[*]} " != " lint " ]]; then
    stages=(setup "${stages[@]}")
fi

# The summary: each stage's seconds and result, printed on exit, whether the run passed, failed
# or was interrupted.
results=()
current=""
started=0
summary() {
    local status=$? stage seconds result at total=0
    if [[ -n $current ]]; then
        results+=("$current $((SECONDS - started)) FAILED")
    fi
    step "summary"
    printf '  %-8s %8s  %s\n' stage seconds result
    for at in "${!stages[@]}"; do
        stage=${stages[$at]}
        if ((at < ${#results[@]})); then
            read -r _ seconds result <<<"${results[$at]}"
            total=$((total + seconds))
        else
            seconds=- result="not run"
        fi
        printf '  %-8s %8s  %s\n' "$stage" "$seconds" "$result"
    done
    if [[ $status -eq 0 ]]; then
        printf '  %-8s %8s  %s\n' total "$total" "passed: ${stages[*]}"
    else
        printf '  %-8s %8s  %s\n' total "$total" "FAILED at stage ${current:-?} (exit $status)"
    fi
}
trap summary EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

for stage in "${stages[@]}"; do
    current=$stage
    started=$SECONDS
    "stage_$stage"
    results+=("$stage $((SECONDS - started)) passed")
    current=""
done
