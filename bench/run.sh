#!/usr/bin/env bash
# Benchmarks mock-rest-api against json-server 0.17, side by side, and writes
# docs/benchmarks.md. One command from a fresh clone:
#
#   bash bench/run.sh
#
# Installs json-server (pinned, bench/package-lock.json) and oha (pinned, into
# target/tools/cargo), builds the release binary, then runs bench/bench.py.
# BENCH_SIZES (default 1000,100000,1000000), BENCH_SECONDS (default 10) and
# BENCH_LOAD_BOUND (default 180 s to load a size before it is skipped) tune it.
# Takes about 15 minutes with the defaults. Run it on an otherwise idle machine.
set -euo pipefail
cd "$(dirname "$0")/.."
oha_version=1.16.0
tools=target/tools/cargo
if ! "$tools/bin/oha" --version 2>/dev/null | grep -q "$oha_version"; then
    cargo install --locked --root "$tools" oha --version "$oha_version"
fi
if [[ ! -e bench/node_modules/.package-lock.json || bench/package-lock.json -nt bench/node_modules/.package-lock.json ]]; then
    npm ci --prefix bench --no-audit --no-fund
fi
cargo build --release --locked -p mock-rest-api
command -v taskset > /dev/null || echo "bench: taskset not found; servers and load share the CPUs" >&2
exec python3 bench/bench.py
