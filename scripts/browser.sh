#!/usr/bin/env bash
# The mock in the browser (web-engine/ and web/): its build tools, its build into web/dist/, and its
# tests in headless Chromium against a static file server on 127.0.0.1. Nothing is downloaded but
# crates (cargo install), npm packages (package-lock.json) and, when missing, Debian's chromium.
#
#   bash scripts/browser.sh          # setup, build, lint and test: what `scripts/test.sh browser` runs
#   bash scripts/browser.sh setup    # wasm-bindgen-cli at the version of Cargo.lock (scripts/tools.sh), npm ci, Debian's chromium
#   bash scripts/browser.sh build    # web/dist/: the wasm engine, its glue, mock-sw.js, mock-wire.js, mock.js, index.html
#   bash scripts/browser.sh lint     # clippy on the engine's wasm32 code (the host's lint sees only its plain parts)
#   bash scripts/browser.sh test     # the tests below
#
# test:
#   1. the crate's own tests on the host (settings, seeding);
#   2. web/dist plus tests/browser/site served by `python3 -m http.server` on a free port of
#      127.0.0.1 (it binds port 0 and names the port it got), and tests/browser/driver.mjs (playwright-core, Debian's chromium, headless): every
#      conformance case through fetch() in the demo page, each in a namespace of its own; the first
#      fetch after startMock; passthrough; data across a reload, a stopped worker, a new registration
#      and a browser restart; two tabs; a CRUD round trip in the demo with a screenshot (kept, with
#      the run's summary, in the test's temporary folder); round-trip times. It prints
#      `browser: N passed, M failed, K skipped`;
#   3. the size of what a page loads, raw and gzipped; fails past 1 MiB gzipped.
set -euo pipefail
cd "$(dirname "$0")/.."

source scripts/tools.sh
tools="$cargo_tools"
wasm_bindgen_version="$(awk '$0 == "name = \"wasm-bindgen\"" { getline; gsub(/version = |"/, ""); print; exit }' Cargo.lock)"
chromium="${CHROMIUM:-/usr/bin/chromium}"
dist=web/dist
# The wasm is built with the workspace's `edge` profile (size over speed, LTO), as the Worker's is.
wasm=target/wasm32-unknown-unknown/edge/mock_rest_web.wasm
# What a page loads: the worker, its engine and glue, the registration helper.
served=(mock-sw.js mock-wire.js mock.js mock_rest_web.js mock_rest_web_bg.wasm)

step() { printf '\n==> %s\n' "$*"; }

stage_setup() {
    setup_build
    setup_chromium
}

# What the build needs: the wasm32 target, wasm-bindgen-cli, the npm packages (wasm-opt, playwright-core).
setup_build() {
    if [[ -z "$wasm_bindgen_version" ]]; then
        echo "browser.sh: Cargo.lock has no wasm-bindgen" >&2
        exit 1
    fi
    if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
        step "rustup target add wasm32-unknown-unknown"
        rustup target add wasm32-unknown-unknown
    fi
    # Not --locked: the published lockfile did not resolve here; a plain install does (as in scripts/edge.sh).
    cargo_tool wasm-bindgen wasm-bindgen-cli "$wasm_bindgen_version"
    if [[ ! -e node_modules/playwright-core/package.json || ! -e node_modules/.package-lock.json \
        || package-lock.json -nt node_modules/.package-lock.json ]]; then
        step "npm ci"
        npm ci --no-audit --no-fund
    fi
}

# What the tests need besides: a Chromium to drive.
setup_chromium() {
    if [[ ! -x $chromium ]]; then
        if [[ $(id -u) -ne 0 ]]; then
            echo "browser.sh: $chromium is missing; install Debian's chromium (apt-get install chromium) or set CHROMIUM" >&2
            exit 1
        fi
        step "apt-get install chromium"
        apt-get update
        DEBIAN_FRONTEND=noninteractive apt-get install -y chromium
    fi
}

stage_build() {
    local out=$dist/mock_rest_web_bg.wasm
    if [[ -e $out && -z "$(find web-engine/src web-engine/Cargo.toml core/src core/Cargo.toml Cargo.toml Cargo.lock \
        "$tools/bin/wasm-bindgen" -newer "$out" -print -quit 2>/dev/null)" ]]; then
        echo "browser.sh: $out is up to date" >&2
    else
        setup_build
        step "cargo build -p mock-rest-web --target wasm32-unknown-unknown --profile edge"
        cargo build --locked -p mock-rest-web --target wasm32-unknown-unknown --profile edge
        step "wasm-bindgen --target no-modules, wasm-opt -Oz ($dist/)"
        local next=$dist.next
        rm -rf "$next"
        "$tools/bin/wasm-bindgen" --target no-modules --no-typescript --out-dir "$next" "$wasm"
        node_modules/.bin/wasm-opt -Oz "$next/mock_rest_web_bg.wasm" -o "$next/mock_rest_web_bg.wasm"
        mkdir -p "$dist"
        mv -f "$next"/* "$dist"/
        rmdir "$next"
    fi
    # The JavaScript is copied as it is, every time: it is small and has no build.
    cp web/mock-sw.js web/mock-wire.js web/mock.js web/index.html "$dist"/
}

stage_lint() {
    step "cargo clippy -p mock-rest-web --target wasm32-unknown-unknown"
    cargo clippy --locked -p mock-rest-web --target wasm32-unknown-unknown --all-targets -- -D warnings
}

# The temporary folder of the test stage, and the static server this script runs (at most one).
tmp=""
server_pid=""

cleanup() {
    if [[ -n "$server_pid" ]]; then
        kill "$server_pid" 2>/dev/null || true
        wait "$server_pid" 2>/dev/null || true
        echo "browser.sh: stopped the static server (pid $server_pid)" >&2
        server_pid=""
    fi
    if [[ -n "$tmp" ]]; then
        # Chromium's profiles and the site go; the screenshot, the summary and the logs stay.
        rm -rf "$tmp"/profile* "$tmp/site"
    fi
}

stage_test() {
    stage_setup
    stage_build
    step "browser: the crate's own tests (host)"
    cargo test --locked -p mock-rest-web

    tmp="$(mktemp -d "${TMPDIR:-/tmp}/mock-rest-browser.XXXXXX")"
    trap cleanup EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM

    # The site a frontend project would have: web/dist copied into its public folder, beside its own files.
    mkdir -p "$tmp/site"
    cp "$dist"/* tests/browser/site/* "$tmp/site"/
    # Port 0: the server binds a free port itself and names it in its first line,
    # "Serving HTTP on 127.0.0.1 port N (...)" (-u: unbuffered, so the line is in the log at once).
    local base="" ready=""
    python3 -u -m http.server --bind 127.0.0.1 --directory "$tmp/site" 0 </dev/null >"$tmp/server.log" 2>&1 &
    server_pid=$!
    for _ in $(seq 1 100); do
        if [[ -z $base ]]; then
            base="$(sed -n -E 's|^Serving HTTP on 127\.0\.0\.1 port ([1-9][0-9]*) .*|http://127.0.0.1:\1|p' "$tmp/server.log" | head -n 1)"
        fi
        if [[ -n $base ]] && curl -fsS --max-time 5 -o /dev/null "$base/app.html" 2>/dev/null; then
            ready=1
            break
        fi
        if ! kill -0 "$server_pid" 2>/dev/null; then
            echo "browser.sh: the static server exited; its log:" >&2
            cat "$tmp/server.log" >&2
            exit 1
        fi
        sleep 0.1
    done
    if [[ -z $ready ]]; then
        echo "browser.sh: the static server did not serve app.html within 10 s (at ${base:-no address yet}); its log:" >&2
        cat "$tmp/server.log" >&2
        exit 1
    fi
    echo "browser.sh: static server (pid $server_pid) on $base, serving $tmp/site" >&2

    step "browser: every conformance case and the browser's own tests, in headless Chromium"
    local status=0
    timeout --kill-after=10 900 node tests/browser/driver.mjs --base "$base" --tmp "$tmp" \
        --server-log "$tmp/server.log" || status=$?

    step "browser: what a page loads (raw and gzipped)"
    local raw=0 gz=0 file size packed
    for file in "${served[@]}"; do
        size=$(wc -c <"$dist/$file")
        packed=$(gzip -9c "$dist/$file" | wc -c)
        raw=$((raw + size))
        gz=$((gz + packed))
        printf '  %-22s %8d bytes, %8d gzipped (%d KiB)\n' "$file" "$size" "$packed" $((packed / 1024))
    done
    printf '  %-22s %8d bytes, %8d gzipped (%d KiB)\n' total "$raw" "$gz" $((gz / 1024))
    echo "browser.sh: the screenshot and the run's summary are in $tmp (demo.png, summary.json)" >&2
    # 1 MiB: the engine's OpenAPI mode (a JSON Schema validator with its URL and IDN tables, a YAML
    # reader, fake data; issue 28, which lets the npm package that ships this wasm grow to 2 MiB)
    # took the page past the 500 KiB it held before.
    if ((gz > 1024 * 1024)); then
        echo "browser.sh: a page loads $gz bytes gzipped, over 1 MiB" >&2
        exit 1
    fi
    # The sizes the docs state are this measurement's.
    python3 scripts/doc-size.py "$gz" "what a page loads, gzipped" \
        README.md 'size \(([0-9,]+) KiB gzipped\)' \
        docs/browser.md '\| total \| [0-9,]+ KB \| ([0-9,]+) KiB \|'
    if [[ $status -ne 0 ]]; then
        echo "browser.sh: the browser tests failed (exit $status)" >&2
        exit 1
    fi
}

stages=("$@")
[[ ${#stages[@]} -gt 0 ]] || stages=(setup build lint test)
for stage in "${stages[@]}"; do
    case "$stage" in
        setup | build | lint | test) "stage_$stage" ;;
        *) echo "unknown stage '$stage'; stages: setup build lint test" >&2; exit 2 ;;
    esac
done
