#!/usr/bin/env bash
# A short fuzz run of the engine's request handling and JSON intake.
#
#   bash scripts/fuzz.sh [SECONDS]     (default 60)
#
# Uses the machine's nightly toolchain and cargo-fuzz (installed, pinned, into
# ~/.cache/mock-rest-api (scripts/tools.sh) when missing). Not part of the test command: fuzzing is
# open-ended. A crash leaves its input in fuzz/artifacts/handle/; add it to
# fuzz/corpus/handle/ (and fix the bug) so it is replayed from then on.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-60}"
cargo_fuzz_version=0.13.2
source scripts/tools.sh
cargo_tool cargo-fuzz cargo-fuzz "$cargo_fuzz_version" --locked
tools="$cargo_tools"
export PATH="$tools/bin:$PATH"
cd fuzz
# The corpus grows in a scratch copy; the committed seeds stay as they are.
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cp corpus/handle/* "$work/"
cargo +nightly fuzz run handle "$work" -- -max_total_time="$seconds" -max_len=4096 -timeout=10
