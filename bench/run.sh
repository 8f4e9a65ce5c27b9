#!/usr/bin/env bash
# Benchmarks mock-rest-api against json-server 0.17, side by side, and writes
# docs/benchmarks.md. One command from a fresh clone:
#
#   bash bench/run.sh
#
# Installs json-server (pinned, bench/package-lock.json) and oha (pinned, into
# ~/.cache/mock-rest-api (scripts/tools.sh)), builds the release binary and the npm package's wasm
# (scripts/node.sh build, npm/dist/), then runs bench/bench.py.
# BENCH_SIZES (default 1000,100000,1000000), BENCH_SECONDS (default 10) and
# BENCH_LOAD_BOUND (default 180 s to load a size before it is skipped) tune it.
# Takes about 15 minutes with the defaults. Run it on an otherwise idle machine.
#
# The npm package alone (its Node server beside json-server, the native server and bare node:http
# at 1,000 items, GET by id and POST; createMock().fetch round trips; its size), rewriting only that section of
# docs/benchmarks.md, in about 40 s of load plus the builds:
#
#   BENCH_ONLY=npm BENCH_SECONDS=5 bash bench/run.sh
#
# The change feed alone (delivery latency at 1, 100 and 1,000 subscribers, POST throughput with 1,
# 100 and 1,000 subscribers against none; bench/feed.py), rewriting only that section, in about two minutes:
#
#   BENCH_ONLY=feed BENCH_SECONDS=5 bash bench/run.sh
#
# The list queries alone (the native server beside json-server: the 20-item page, that page with
# `_embed` of 10 children per item, the 0.17 filtered list and the 1.0 operator filter, at 1,000 and
# 100,000 items, BENCH_SIZES to change), rewriting only that section of docs/benchmarks.md:
#
#   BENCH_ONLY=queries BENCH_SECONDS=5 bash bench/run.sh
#
# The OpenAPI mode (issue #28; bench/openapi.py): GitHub's REST description (@octokit/openapi, from the
# root package-lock.json: `bash scripts/test.sh setup`) loaded by the native and the Node server (time to
# the first answer, RSS), and a validated GET and POST of the 3.0 Petstore beside plain ones of the same
# item and body and beside Prism (@stoplight/prism-cli, pinned in bench/package-lock.json), rewriting
# only that section of docs/benchmarks.md:
#
#   BENCH_ONLY=openapi BENCH_SECONDS=5 bash bench/run.sh
#
# The limit (issue #18): the native server against a bare salvo handler built here
# (native/examples/bare.rs, same salvo and runtime, a fixed answer; not shipped), GET by id and POST
# in BENCH_ROUNDS (default 3) interleaved rounds, POST latency while the store grows to 1,000,000
# items, the filtered list at 1,000 and 1,000,000, `q` and `_like` and RSS at 1,000,000, durable POSTs.
# Prints each target with its figure and rewrites only that section of docs/benchmarks.md:
#
#   BENCH_ONLY=limit BENCH_SECONDS=5 bash bench/run.sh
#
# createMock against MSW 2 (issue #30; bench/msw.mjs): the same 1,000 people and the same GET by id,
# 20-item list and POST through `createMock().fetch`, through MSW's setupServer over a Map and over
# @mswjs/data (both pinned in the root package-lock.json, which the npm build installs), in interleaved
# rounds in one process, and the first request in a fresh process. Needs neither oha nor the release
# binary. Rewrites only that section of docs/benchmarks.md, in about three minutes plus the build:
#
#   BENCH_ONLY=msw bash bench/run.sh
set -euo pipefail
cd "$(dirname "$0")/.."
if [[ "${BENCH_ONLY:-}" == msw ]]; then
    bash scripts/node.sh build
    exec node bench/msw.mjs --write
fi
oha_version=1.16.0
source scripts/tools.sh
cargo_tool oha oha "$oha_version" --locked
tools="$cargo_tools"
if [[ ! -e bench/node_modules/.package-lock.json || bench/package-lock.json -nt bench/node_modules/.package-lock.json ]]; then
    npm ci --prefix bench --no-audit --no-fund
fi
cargo build --release --locked -p mock-rest-api --bin mock-rest-api --example bare
[[ "${BENCH_ONLY:-}" == limit ]] || bash scripts/node.sh build
command -v taskset > /dev/null || echo "bench: taskset not found; servers and load share the CPUs" >&2
OHA="$tools/bin/oha" exec python3 bench/bench.py
