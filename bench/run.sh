#!/usr/bin/env bash
# Benchmarks mock-rest-api against its peers, side by side, and draws docs/benchmarks.md. One command
# from a fresh clone:
#
#   bash bench/run.sh
#
# Installs the peers (pinned, bench/package-lock.json: json-server 0.17.4 and 1.0.0-beta.15, Mockoon's
# CLI, WireMock's standalone jar, Prism) and oha (pinned, into ~/.cache/mock-rest-api (scripts/tools.sh)),
# builds the release binary and the npm package's wasm (scripts/node.sh build, npm/dist/), then runs
# bench/bench.py. WireMock needs Java 17 or later (`java` on the PATH).
#
# Every run, whole or one part, adds a record of its figures to bench/history/ and draws
# docs/benchmarks.md, its charts (docs/bench/*.svg) and the figures README.md and npm/README.md quote
# (between `<!-- bench:KEY -->` markers) again from every record (bench/page.py): nothing is lost
# from run to run, and `python3 bench/page.py` draws them again without measuring anything.
# BENCH_SIZES (default 1000,100000,1000000), BENCH_SECONDS (default 10) and
# BENCH_LOAD_BOUND (default 180 s to load a size before it is skipped) tune it.
# The whole run takes about 35 minutes with the defaults. Run it on an otherwise idle machine.
#
# Every peer side by side (issue #31; bench/peers.py): mock-rest-api, WireMock 3.13, Mockoon's CLI and
# json-server 0.17 and 1.0 beta, each where it has the feature: a canned answer among 1, 1,000 and
# 10,000 (BENCH_STUBS), GET by id and POST over 1,000 and 100,000 items (BENCH_ITEMS), recording through
# a proxy; BENCH_ROUNDS (3) rounds with the peers taking turns, start-up to the first answer
# (BENCH_STARTS, 5), peak RSS, and charts. About 20 minutes with the defaults:
#
#   BENCH_ONLY=peers bash bench/run.sh
#
# The npm package alone (its Node server beside json-server, the native server and bare node:http
# at 1,000 items, GET by id and POST; createMock().fetch round trips; its size), in about 40 s of load
# plus the builds:
#
#   BENCH_ONLY=npm BENCH_SECONDS=5 bash bench/run.sh
#
# The change feed alone (delivery latency at 1, 100 and 1,000 subscribers, POST throughput with 1,
# 100 and 1,000 subscribers against none; bench/feed.py), in about two minutes:
#
#   BENCH_ONLY=feed BENCH_SECONDS=5 bash bench/run.sh
#
# The list queries alone (the native server beside json-server: the 20-item page, that page with
# `_embed` of 10 children per item, the 0.17 filtered list and the 1.0 operator filter, at 1,000 and
# 100,000 items, BENCH_SIZES to change):
#
#   BENCH_ONLY=queries BENCH_SECONDS=5 bash bench/run.sh
#
# The OpenAPI mode (issue #28; bench/openapi.py): GitHub's REST description (@octokit/openapi, from the
# root package-lock.json: `bash scripts/test.sh setup`) loaded by the native and the Node server (time to
# the first answer, RSS), and a validated GET and POST of the 3.0 Petstore beside plain ones of the same
# item and body and beside Prism. Not part of the whole run:
#
#   BENCH_ONLY=openapi BENCH_SECONDS=5 bash bench/run.sh
#
# The limit (issue #18): the native server against a bare salvo handler built here
# (native/examples/bare.rs, same salvo and runtime, a fixed answer; not shipped), GET by id and POST
# in BENCH_ROUNDS (default 3) interleaved rounds, POST latency while the store grows to 1,000,000
# items, the filtered list at 1,000 and 1,000,000, `q` and `_like` and RSS at 1,000,000, durable POSTs:
#
#   BENCH_ONLY=limit BENCH_SECONDS=5 bash bench/run.sh
#
# createMock against MSW 2 (issue #30; bench/msw.mjs): the same 1,000 people and the same GET by id,
# 20-item list and POST through `createMock().fetch`, through MSW's setupServer over a Map and over
# @mswjs/data (both pinned in the root package-lock.json, which the npm build installs), in interleaved
# rounds in one process, and the first request in a fresh process. Needs neither oha nor the release
# binary; about three minutes plus the build. Not part of the whole run:
#
#   BENCH_ONLY=msw bash bench/run.sh
set -euo pipefail
cd "$(dirname "$0")/.."
if [[ "${BENCH_ONLY:-}" == msw ]]; then
    bash scripts/node.sh build
    node bench/msw.mjs --write
    exec python3 bench/page.py
fi
oha_version=1.16.0
source scripts/tools.sh
cargo_tool oha oha "$oha_version" --locked
tools="$cargo_tools"
if [[ ! -e bench/node_modules/.package-lock.json || bench/package-lock.json -nt bench/node_modules/.package-lock.json ]]; then
    npm ci --prefix bench --no-audit --no-fund
fi
cargo build --release --locked -p mock-rest-api --bin mock-rest-api --example bare
[[ "${BENCH_ONLY:-}" == limit || "${BENCH_ONLY:-}" == peers ]] || bash scripts/node.sh build
if [[ -z "${BENCH_ONLY:-}" || "${BENCH_ONLY:-}" == peers ]] && ! command -v java > /dev/null; then
    echo "bench: java not found; WireMock (bench/node_modules/wiremock) needs Java 17 or later" >&2
    exit 1
fi
command -v taskset > /dev/null || echo "bench: taskset not found; servers and load share the CPUs" >&2
OHA="$tools/bin/oha" exec python3 bench/bench.py
