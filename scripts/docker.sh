#!/usr/bin/env bash
# Builds the container image (Dockerfile: FROM scratch, the static binary only) and tests it in a
# Docker engine that this script starts and stops by its PID:
#
#   bash scripts/docker.sh          build the image, then test it
#   bash scripts/docker.sh build    only build the image (tag mock-rest-api:latest), in a running engine
#
# The tests: the image holds one file, the binary; it runs as a non-root user (65534) with a
# HEALTHCHECK that runs the binary itself; the container turns healthy and answers a CRUD round trip;
# it reads PORT; settings reach it as environment variables; a bad setting stops it with a message
# that names the setting; durable data on a mounted volume survives `docker restart`; `docker stop`
# (SIGTERM) ends it with exit code 0. Then every conformance case (tests/cases) against the image, one
# fresh container per case (`cargo test -p conformance --test container`), each case counted in the
# summary.
#
# Installs what it needs first, each only when missing: docker.io (Debian), and the musl target and
# musl-tools (static_binary in scripts/tools.sh).
# No image registry is needed or used. Run by `bash scripts/test.sh docker`.
set -euo pipefail
cd "$(dirname "$0")/.."

readonly image=mock-rest-api:latest
step() { printf '\n==> %s\n' "$*"; }

passed=0
failed=0
check() {
    local name=$1
    shift
    if "$@"; then
        passed=$((passed + 1))
        printf 'ok: %s\n' "$name"
    else
        failed=$((failed + 1))
        printf 'FAILED: %s\n' "$name" >&2
    fi
}

# --- installs ----------------------------------------------------------------------------------

if ! command -v dockerd >/dev/null || ! command -v docker >/dev/null; then
    step "apt-get install docker.io"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends docker.io >/dev/null
fi

# --- the engine, started here and stopped by its PID -------------------------------------------

work=$(mktemp -d "${TMPDIR:-/tmp}/docker-test.XXXXXX")
export DOCKER_HOST="unix://$work/docker.sock"
dockerd_pid=""
containers=()
cleanup() {
    for container in "${containers[@]}"; do
        docker rm -f "$container" >/dev/null 2>&1 || true
    done
    if [[ -n $dockerd_pid ]]; then
        kill "$dockerd_pid" 2>/dev/null || true
        wait "$dockerd_pid" 2>/dev/null || true
    fi
    # The engine leaves a namespace mounted under its exec root once a container used the host's
    # network (the conformance replay does); unmount what is mounted under $work, so it can go.
    awk -v dir="$work/" 'index($2, dir) == 1 { print $2 }' /proc/self/mounts | sort -r |
        while read -r mounted; do umount "$mounted" 2>/dev/null || true; done
    rm -rf "$work" 2>/dev/null || true
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

step "dockerd (its own data root, socket and PID, under $work)"
# The data root stays between runs (image layers are cached there); the socket and state are this run's.
data_root=${MOCK_REST_DOCKER_ROOT:-$HOME/.cache/mock-rest-api/docker}
mkdir -p "$data_root"
dockerd --data-root "$data_root" --exec-root "$work/exec" --pidfile "$work/dockerd.pid" \
    -H "$DOCKER_HOST" >"$work/dockerd.log" 2>&1 &
dockerd_pid=$!
for _ in $(seq 1 100); do
    docker version >/dev/null 2>&1 && break
    kill -0 "$dockerd_pid" 2>/dev/null || { cat "$work/dockerd.log" >&2; echo "dockerd stopped" >&2; exit 1; }
    sleep 0.2
done
docker version >/dev/null || { cat "$work/dockerd.log" >&2; exit 1; }

# --- build -------------------------------------------------------------------------------------

source scripts/tools.sh
binary=$(static_binary)
if readelf -l "$binary" | grep -q 'Requesting program interpreter'; then
    echo "$binary is not static: a FROM scratch image could not run it" >&2
    exit 1
fi
step "docker build -t $image (context: the binary alone)"
mkdir "$work/context"
cp "$binary" "$work/context/mock-rest-api"
docker build --quiet -t "$image" -f Dockerfile "$work/context"
if [[ ${1:-} == build ]]; then
    exit 0
fi

# --- tests -------------------------------------------------------------------------------------

# published_port CONTAINER PORT: the port of 127.0.0.1 that Docker published the container's PORT on.
# Each container is run with `-p 127.0.0.1::PORT`, so Docker binds a free port itself: no port is
# chosen here for another process to take first.
published_port() {
    local published
    published=$(docker port "$1" "$2/tcp" | grep -m 1 '^127\.0\.0\.1:' || true)
    [[ $published =~ :([0-9]+)$ ]] || { echo "docker port $1 $2: '$published'" >&2; return 1; }
    echo "${BASH_REMATCH[1]}"
}

# Waits until the container's HEALTHCHECK says healthy (or 60 s pass); prints the last status.
wait_healthy() {
    local container=$1 status=""
    for _ in $(seq 1 120); do
        status=$(docker inspect --format '{{.State.Health.Status}}' "$container" 2>/dev/null || echo gone)
        [[ $status == healthy || $status == gone ]] && break
        sleep 0.5
    done
    echo "$status"
}

image_is_the_binary_alone() {
    docker save "$image" -o "$work/image.tar"
    mkdir "$work/image" && tar -xf "$work/image.tar" -C "$work/image"
    local files
    files=$(find "$work/image" -name layer.tar -exec tar -tf {} \; | sort)
    [[ $files == mock-rest-api ]] || { echo "the layers hold: $files" >&2; return 1; }
}
check "the image holds one file, the binary" image_is_the_binary_alone

image_config() {
    local user health entry
    user=$(docker image inspect --format '{{.Config.User}}' "$image")
    health=$(docker image inspect --format '{{json .Config.Healthcheck.Test}}' "$image")
    entry=$(docker image inspect --format '{{json .Config.Entrypoint}}' "$image")
    [[ $user == 65534:65534 ]] || { echo "user: $user" >&2; return 1; }
    [[ $health == '["CMD","/mock-rest-api","--healthcheck"]' ]] || { echo "healthcheck: $health" >&2; return 1; }
    [[ $entry == '["/mock-rest-api"]' ]] || { echo "entrypoint: $entry" >&2; return 1; }
}
check "it runs as user 65534 with a HEALTHCHECK that runs the binary" image_config

# The containers the checks below look at, started together: each turns healthy at its first health
# check, the image's interval (10 s) after it starts, so they wait that out side by side.
data="$work/data"
mkdir -p "$data"
chown 65534:65534 "$data"
main=$(docker run -d -p "127.0.0.1::5000" -e APP_NAME=in-a-container "$image")
containers+=("$main")
on_8080=$(docker run -d -e PORT=8080 -p "127.0.0.1::8080" "$image")
containers+=("$on_8080")
durable=$(docker run -d -p "127.0.0.1::5000" -v "$data:/data" -e DATA_FILE=/data/db.json "$image")
containers+=("$durable")
host_port=$(published_port "$main" 5000)

healthy_and_serving() {
    local status created id
    status=$(wait_healthy "$main")
    [[ $status == healthy ]] || { echo "health: $status"; docker logs "$main"; return 1; } >&2
    created=$(curl -sf "http://127.0.0.1:$host_port/api/people" -d '{"name":"Ada"}')
    id=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["_id"])' "$created")
    curl -sf "http://127.0.0.1:$host_port/api/people/$id" | grep -q '"name":"Ada"' &&
        curl -sf "http://127.0.0.1:$host_port/health" | grep -q '"name":"in-a-container"'
}
check "the container turns healthy and answers a CRUD round trip, with settings from -e" healthy_and_serving

runs_as_nobody() {
    local pid uid
    pid=$(docker inspect --format '{{.State.Pid}}' "$main")
    uid=$(awk '/^Uid:/ {print $2}' "/proc/$pid/status")
    [[ $uid == 65534 ]] || { echo "the server runs as uid $uid" >&2; return 1; }
}
check "the server process runs as uid 65534" runs_as_nobody

reads_port() {
    local port status
    port=$(published_port "$on_8080" 8080) || return 1
    status=$(wait_healthy "$on_8080")
    [[ $status == healthy ]] || { echo "health on 8080: $status" >&2; return 1; }
    curl -sf "http://127.0.0.1:$port/health" | grep -q '"status":"pass"'
}
check "it listens on PORT, and its health check follows" reads_port

bad_setting_stops_it() {
    local container code logs
    container=$(docker run -d -e DELAY_MS=soon "$image")
    containers+=("$container")
    code=$(docker wait "$container")
    logs=$(docker logs "$container" 2>&1)
    [[ $code != 0 ]] && grep -q 'delay-ms' <<<"$logs" && grep -q 'not a whole number' <<<"$logs" ||
        { echo "exit $code: $logs" >&2; return 1; }
}
check "a bad setting stops the container with a message naming it" bad_setting_stops_it

durable_on_a_volume() {
    local container=$durable port created id status
    port=$(published_port "$container" 5000) || return 1
    status=$(wait_healthy "$container")
    [[ $status == healthy ]] || { echo "health with DATA_FILE: $status"; docker logs "$container"; return 1; } >&2
    created=$(curl -sf "http://127.0.0.1:$port/api/kept" -d '{"n":1.10}')
    id=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["_id"])' "$created")
    docker restart --time 20 "$container" >/dev/null
    status=$(wait_healthy "$container")
    [[ $status == healthy ]] || { echo "health after docker restart: $status"; docker logs "$container"; return 1; } >&2
    # A port Docker picked is picked again when the container starts again.
    port=$(published_port "$container" 5000) || return 1
    curl -sf "http://127.0.0.1:$port/api/kept/$id" | grep -q '"n":1.10' ||
        { echo "the item is gone after docker restart"; docker logs "$container"; return 1; } >&2
    [[ -s $data/db.json ]] || { echo "nothing was written to the volume" >&2; return 1; }
}
check "DATA_FILE on a mounted volume keeps the data across docker restart" durable_on_a_volume

stops_cleanly() {
    local code
    docker stop --time 20 "$main" >/dev/null
    code=$(docker inspect --format '{{.State.ExitCode}}' "$main")
    [[ $code == 0 ]] || { echo "exit code after docker stop: $code" >&2; return 1; }
}
check "docker stop (SIGTERM) ends it with exit code 0" stops_cleanly

step "every conformance case against $image, one container each (cargo test -p conformance --test container)"
# Each case is counted: libtest's summary line says how many passed and failed. A run that fails
# without such a line (it could not build or find the image) counts as one failure.
set +e
MOCK_REST_IMAGE=$image cargo test --locked -p conformance --test container 2>&1 | tee "$work/conformance.log"
conformance_status=${PIPESTATUS[0]}
set -e
summary=$(grep -E '^test result: ' "$work/conformance.log" | tail -n 1 || true)
if [[ $summary =~ ([0-9]+)\ passed\;\ ([0-9]+)\ failed\;\ ([0-9]+)\ ignored ]]; then
    passed=$((passed + BASH_REMATCH[1]))
    failed=$((failed + BASH_REMATCH[2]))
    if [[ ${BASH_REMATCH[3]} != 0 ]]; then
        failed=$((failed + 1))
        printf 'FAILED: %s conformance cases were ignored in the container\n' "${BASH_REMATCH[3]}" >&2
    fi
    if [[ $conformance_status != 0 && ${BASH_REMATCH[2]} == 0 ]]; then
        failed=$((failed + 1))
        printf 'FAILED: the container replay exited with %s\n' "$conformance_status" >&2
    fi
else
    failed=$((failed + 1))
    printf 'FAILED: the conformance cases in containers (exit %s, no summary)\n' "$conformance_status" >&2
fi

echo "docker: $passed passed, $failed failed"
[[ $failed -eq 0 ]]
