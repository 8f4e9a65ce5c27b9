#!/usr/bin/env bash
# Runs every test of mock-rest-api, installing what it needs first.
#
#   bash scripts/test.sh            # everything (what CI runs)
#   bash scripts/test.sh STAGE...   # only these stages, in the order given
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
#            (tests/json-server/compare.mjs; json-server from package-lock.json)
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

stages=("$@")
[[ ${#stages[@]} -gt 0 ]] || stages=("${all_stages[@]}")
for stage in "${stages[@]}"; do
    case "$stage" in
        setup | lint | core | native | deploy | edge | browser | node | postman | docker) ;;
        *) echo "unknown stage '$stage'; stages: ${all_stages[*]}" >&2; exit 2 ;;
    esac
done
# Every stage but lint needs the installs.
if [[ " ${stages[*]} " != *" setup "* && " ${stages[*]} " != " lint " ]]; then
    stage_setup
fi
for stage in "${stages[@]}"; do
    "stage_$stage"
done
step "all stages passed: ${stages[*]}"
