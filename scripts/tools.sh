# Sourced by the scripts: where the pinned tools they install live.
#
# Outside the work tree, so that a fresh clone on the same machine (as CI makes)
# reuses what an earlier run built instead of compiling it again for minutes.
# Set MOCK_REST_TOOLS to put them elsewhere. Nothing here is project output.
tools_dir="${MOCK_REST_TOOLS:-${XDG_CACHE_HOME:-$HOME/.cache}/mock-rest-api}"
# The root for `cargo install --root`; binaries land in "$cargo_tools/bin".
cargo_tools="$tools_dir/cargo"
mkdir -p "$cargo_tools"

# python_venv NAME REQUIREMENTS: prints the path of a venv holding exactly the
# pinned REQUIREMENTS, made once per content of that file.
python_venv() {
    local name=$1 requirements=$2 hash venv
    hash=$(sha256sum "$requirements" | cut -c1-16)
    venv="$tools_dir/venv-$name-$hash"
    if [[ ! -e $venv/installed ]]; then
        printf '\n==> python venv %s from %s (once)\n' "$name" "$requirements" >&2
        rm -rf "$venv"
        python3 -m venv "$venv" >&2
        "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$requirements" >&2
        touch "$venv/installed"
    fi
    printf '%s\n' "$venv"
}

# cargo_tool BINARY CRATE VERSION [cargo install flags...]: installs CRATE at
# exactly VERSION unless "$cargo_tools/bin/BINARY --version" already reports it.
cargo_tool() {
    local binary=$1 crate=$2 version=$3
    shift 3
    if [[ "$("$cargo_tools/bin/$binary" --version 2>/dev/null | awk '{ print $NF }')" != "$version" ]]; then
        printf '\n==> cargo install %s %s (once; takes minutes)\n' "$crate" "$version" >&2
        cargo install "$crate" --version "=$version" --root "$cargo_tools" "$@"
    fi
}

# static_binary: builds the server's static release binary (x86_64-unknown-linux-musl, stripped),
# the one the Elastic Beanstalk bundle and the container image ship, and prints its path. The
# command is deploy.sh's own, so one build serves the deploy, postman and docker stages (cargo
# finds it fresh after the first). Installs the musl target and musl-tools when missing.
static_binary() {
    local target=x86_64-unknown-linux-musl
    if ! rustup target list --installed | grep -qx "$target"; then
        printf '\n==> rustup target add %s\n' "$target" >&2
        rustup target add "$target" >&2
    fi
    if ! command -v musl-gcc >/dev/null; then
        printf '\n==> apt-get install musl-tools\n' >&2
        DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends musl-tools >/dev/null
    fi
    printf '\n==> cargo build --release -p mock-rest-api --target %s (stripped)\n' "$target" >&2
    CARGO_PROFILE_RELEASE_STRIP=symbols cargo build --locked --release -p mock-rest-api --target "$target" >&2
    printf '%s\n' "${CARGO_TARGET_DIR:-target}/$target/release/mock-rest-api"
}
