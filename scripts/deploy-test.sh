#!/usr/bin/env bash
# Tests deploy.sh (AWS Elastic Beanstalk) on this machine, offline, with no AWS account:
#
#   1. bundle   the zip deploy.sh builds: Procfile syntax, Unix modes read from the zip, files at
#               its root, and a static x86-64 binary (ELF read in Python, apart from deploy.sh's
#               own check)
#   2. run      the bundle unzipped and started as Elastic Beanstalk does (./mock-rest-api with
#               PORT set): /health answers 200 with the APP_NAME and APP_VERSION given
#   3. dry-run  `deploy.sh --dry-run` prints deploy/tests/dry-run.golden (UPDATE_GOLDEN=1 rewrites
#               it), and never the API_TOKEN
#   4. deploy   the whole script against moto's server, extended with the Elastic Beanstalk calls
#               moto lacks (deploy/tests/moto_eb.py), through the real AWS CLI: a missing bucket
#               fails; the first deploy creates the environment; a second updates it with a
#               token; a reused version label fails; a third removes the token; the extension
#               refuses an unknown option, a bundle not in S3 and a bundle that would not start;
#               an environment that is busy stops a deploy
#
# Installs what it needs first, each only when missing: zip, unzip and musl-tools (Debian), the
# musl target (deploy.sh), and moto and the AWS CLI pinned by deploy/tests/requirements.txt in
# the tools folder of scripts/tools.sh. Run by `bash scripts/test.sh deploy`.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

step() { printf '\n==> %s\n' "$*"; }

passed=0
pass() {
    passed=$((passed + 1))
    printf 'ok: %s\n' "$*"
}
fail() {
    printf 'FAILED: %s\n' "$*" >&2
    printf 'deploy: %d passed, 1 failed\n' "$passed"
    exit 1
}

# --- installs ----------------------------------------------------------------------------------

missing=()
command -v zip >/dev/null || missing+=(zip)
command -v unzip >/dev/null || missing+=(unzip)
command -v musl-gcc >/dev/null || missing+=(musl-tools)
if [[ ${#missing[@]} -gt 0 ]]; then
    step "apt-get install ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
source scripts/tools.sh
venv=$(python_venv deploy deploy/tests/requirements.txt)
py=$venv/bin/python

# --- what this script starts, stopped by PID ---------------------------------------------------

work=$(mktemp -d "${TMPDIR:-/tmp}/deploy-test.XXXXXX")
server_pid=""
moto_pid=""
stop() {
    local pid=$1
    [[ -n $pid ]] || return 0
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
}
cleanup() {
    stop "$server_pid"
    stop "$moto_pid"
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Nothing of the caller's AWS or deploy settings reaches deploy.sh here.
unset_vars=(EB_APPLICATION EB_ENVIRONMENT EB_BUCKET EB_REGION APP_NAME APP_VERSION API_TOKEN
    EB_INSTANCE_TYPE EB_INSTANCE_PROFILE DEPLOY_TIMEOUT_SECS DEPLOY_POLL_SECS
    AWS_REGION AWS_DEFAULT_REGION AWS_PROFILE AWS_DEFAULT_PROFILE AWS_ACCESS_KEY_ID
    AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN AWS_ENDPOINT_URL AWS_CONFIG_FILE
    AWS_SHARED_CREDENTIALS_FILE AWS_CA_BUNDLE)
unset "${unset_vars[@]}"

# --- 3 (first, as it builds the bundle). dry run --------------------------------------------------

step "dry-run: ./deploy.sh --dry-run --env-file deploy/tests/dry-run.env"
token=$(sed -n 's/^API_TOKEN=//p' deploy/tests/dry-run.env)
version=$(sed -n 's/^APP_VERSION=//p' deploy/tests/dry-run.env)
[[ -n $token && -n $version ]] || fail "dry-run.env must set API_TOKEN and APP_VERSION"
if ! ./deploy.sh --dry-run --env-file deploy/tests/dry-run.env >"$work/dry-run.out" 2>"$work/dry-run.err"; then
    cat "$work/dry-run.err" >&2
    fail "deploy.sh --dry-run exited non-zero"
fi
target_dir=${CARGO_TARGET_DIR:-target}
# What legitimately varies: the commit in the version's description, and the target folder.
sed -E -e 's/\(mock-rest-api ([0-9a-f]{7,40}(-dirty)?|not from git)\)/(mock-rest-api COMMIT)/' \
    -e "s|${target_dir%/}/deploy/|target/deploy/|g" "$work/dry-run.out" >"$work/dry-run.normalized"
bundle=$target_dir/deploy/mock-rest-api-$version.zip

# --- 1. bundle ---------------------------------------------------------------------------------

step "bundle: $bundle"
"$py" deploy/tests/checks.py bundle "$bundle" || fail "the bundle is not what Elastic Beanstalk needs"
pass "bundle: Procfile, Unix modes from the zip, files at the root, static x86-64 ELF"

# --- 2. run ------------------------------------------------------------------------------------

step "run: the unzipped bundle, started with PORT, HOST, APP_NAME and APP_VERSION"
mkdir "$work/app"
unzip -q "$bundle" -d "$work/app"
[[ -x $work/app/mock-rest-api ]] || fail "unzip did not restore the binary's exec bit"
# The binary is given a PORT, as Elastic Beanstalk gives it one, so the port is found free here and
# bound later: when another process took it in between ("Address already in use"), it is started
# again on another.
start_bundle() {
    local attempt
    for attempt in 1 2 3 4 5; do
        port=$("$py" deploy/tests/checks.py free-port)
        (
            cd "$work/app"
            unset DATA_FILE CORS_ORIGINS AUTH_SCOPE DELAY_MS MAX_BODY_BYTES
            export PORT=$port HOST=127.0.0.1 APP_NAME="Bundle test" APP_VERSION=9.8.7-bundle RUST_LOG=info
            exec ./mock-rest-api 2>"$work/server.log"
        ) &
        server_pid=$!
        for _ in $(seq 1 300); do
            grep -qE "listening on http://127\.0\.0\.1:$port([^0-9]|\$)" "$work/server.log" && return 0
            if ! kill -0 "$server_pid" 2>/dev/null; then
                wait "$server_pid" 2>/dev/null || true
                server_pid=""
                grep -q 'in use' "$work/server.log" || return 1
                echo "deploy-test.sh: port $port was taken before the server bound it (attempt $attempt); another" >&2
                continue 2
            fi
            sleep 0.1
        done
        return 1
    done
    return 1
}
if ! start_bundle || ! "$py" deploy/tests/checks.py health "http://127.0.0.1:$port/health" "Bundle test" 9.8.7-bundle; then
    cat "$work/server.log" >&2
    fail "the bundled binary did not serve /health as configured"
fi
stop "$server_pid"
server_pid=""
pass "run: the bundled binary serves /health on PORT with APP_NAME and APP_VERSION"

# --- 3. dry run, compared ----------------------------------------------------------------------

step "dry-run: compared with deploy/tests/dry-run.golden"
if [[ ${UPDATE_GOLDEN:-} == 1 ]]; then
    cp "$work/dry-run.normalized" deploy/tests/dry-run.golden
    echo "rewrote deploy/tests/dry-run.golden"
fi
diff -u deploy/tests/dry-run.golden "$work/dry-run.normalized" ||
    fail "the dry run differs from deploy/tests/dry-run.golden (UPDATE_GOLDEN=1 rewrites it)"
if grep -qF -- "$token" "$work/dry-run.out" "$work/dry-run.err"; then
    fail "the dry run printed the API_TOKEN"
fi
pass "dry-run: output as in the golden file, the token masked"

# --- 4. deploy against moto --------------------------------------------------------------------

step "deploy: moto_server with the Elastic Beanstalk extension, on 127.0.0.1"
# Port 0: werkzeug (moto's server) binds a free port itself and names it: " * Running on http://...".
"$py" deploy/tests/moto_eb.py -H 127.0.0.1 -p 0 >"$work/moto.log" 2>&1 &
moto_pid=$!
moto_port=""
for _ in $(seq 1 300); do
    moto_port=$(sed -n -E 's|^ \* Running on http://127\.0\.0\.1:([1-9][0-9]*)$|\1|p' "$work/moto.log" | head -n 1)
    [[ -n $moto_port ]] && break
    kill -0 "$moto_pid" 2>/dev/null || break
    sleep 0.1
done
if [[ -z $moto_port ]] || ! "$py" deploy/tests/checks.py wait-port "$moto_port" 30; then
    cat "$work/moto.log" >&2
    fail "moto did not start"
fi

export PATH="$venv/bin:$PATH" AWS_PAGER=""
export AWS_ENDPOINT_URL=http://127.0.0.1:$moto_port AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing
export AWS_CONFIG_FILE=$work/aws-config AWS_SHARED_CREDENTIALS_FILE=$work/aws-credentials
export AWS_EC2_METADATA_DISABLED=true
: >"$AWS_CONFIG_FILE"
: >"$AWS_SHARED_CREDENTIALS_FILE"
[[ $(command -v aws) == "$venv/bin/aws" ]] || fail "the pinned aws is not first on PATH"

region=eu-west-1
app=demo
environment=demo-env
bucket=demo-bundles
awsr() { aws --region "$region" "$@"; }
cat >"$work/deploy.env" <<EOF
EB_APPLICATION=$app
EB_ENVIRONMENT=$environment
EB_BUCKET=$bucket
EB_REGION=$region
APP_NAME="Demo API"
DEPLOY_POLL_SECS=0
DEPLOY_TIMEOUT_SECS=60
EOF

# deploy NAME [VAR=VALUE...]: runs deploy.sh with deploy.env and those variables; its output in
# $work/NAME.out and .err; its exit status in $status.
deploy() {
    local name=$1
    shift
    status=0
    env "$@" ./deploy.sh --env-file "$work/deploy.env" >"$work/$name.out" 2>"$work/$name.err" || status=$?
}
# expect_ok NAME: the run succeeded and printed the environment's URL last.
expect_ok() {
    if [[ $status != 0 ]]; then
        cat "$work/$1.err" >&2
        fail "$1: deploy.sh exited $status"
    fi
    [[ $(tail -n 1 "$work/$1.out") == "http://$environment.$region.elasticbeanstalk.com/" ]] ||
        fail "$1: deploy.sh did not print the URL last: $(cat "$work/$1.out")"
}
# expect_error NAME TEXT: the run failed, saying TEXT.
expect_error() {
    [[ $status != 0 ]] || fail "$1: deploy.sh succeeded; it should have failed with: $2"
    grep -qF -- "$2" "$work/$1.err" || {
        cat "$work/$1.err" >&2
        fail "$1: deploy.sh failed without saying: $2"
    }
}
# expect_env VERSION PROPERTIES: the environment is Ready, Green, on VERSION, with exactly these
# environment properties (NAME=VALUE lines, sorted).
expect_env() {
    local got want
    got=$(awsr elasticbeanstalk describe-environments --application-name "$app" \
        --environment-names "$environment" --query 'Environments[0].[Status,Health,VersionLabel]' --output text)
    want=$(printf 'Ready\tGreen\t%s' "$1")
    [[ $got == "$want" ]] || fail "environment: '$got', expected '$want'"
    got=$(awsr elasticbeanstalk describe-configuration-settings --application-name "$app" \
        --environment-name "$environment" --output text \
        --query "ConfigurationSettings[0].OptionSettings[?Namespace=='aws:elasticbeanstalk:application:environment'].[OptionName,Value]" |
        tr '\t' '=' | LC_ALL=C sort)
    [[ $got == "$2" ]] || fail "environment properties: '$got', expected '$2'"
}

step "deploy: without the bucket, deploy.sh stops before uploading"
deploy no-bucket APP_VERSION=1.0.0
expect_error no-bucket "looking up bucket $bucket (to create it: aws s3 mb s3://$bucket --region $region) failed"
pass "deploy: a missing bucket stops the deploy with a clear message"

awsr s3 mb "s3://$bucket" >/dev/null
awsr iam create-instance-profile --instance-profile-name aws-elasticbeanstalk-ec2-role >/dev/null

step "deploy: the first deploy creates the application and the environment"
deploy first APP_VERSION=1.0.0
expect_ok first
sed -n '/AWS account/,$s/^/    /p' "$work/first.err" "$work/first.out"
grep -qF "platform: 64bit Amazon Linux 2023 v" "$work/first.err" || fail "first: no platform chosen"
expect_env 1.0.0 "$(printf 'APP_NAME=Demo API\nAPP_VERSION=1.0.0')"
got=$(awsr elasticbeanstalk describe-configuration-settings --application-name "$app" \
    --environment-name "$environment" --output text \
    --query "ConfigurationSettings[0].[SolutionStackName, OptionSettings[?OptionName=='EnvironmentType'].Value | [0]]")
want="^64bit Amazon Linux 2023 v[0-9.]+ running Go 1"$'\t'"SingleInstance\$"
[[ $got =~ $want ]] ||
    fail "first: platform and environment type: '$got'"
got=$(awsr elasticbeanstalk describe-application-versions --application-name "$app" --version-labels 1.0.0 \
    --query 'ApplicationVersions[0].SourceBundle.[S3Bucket,S3Key]' --output text)
[[ $got == "$bucket"$'\t'"$app/mock-rest-api-1.0.0.zip" ]] || fail "first: the version's bundle: '$got'"
pass "deploy: created the environment (single instance, Go 1 on AL2023), Ready on 1.0.0, URL printed"

step "deploy: a second deploy, with API_TOKEN, updates the environment"
secret=tok-$RANDOM$RANDOM-secret
deploy second APP_VERSION=1.1.0 API_TOKEN="$secret"
expect_ok second
expect_env 1.1.0 "$(printf 'API_TOKEN=%s\nAPP_NAME=Demo API\nAPP_VERSION=1.1.0' "$secret")"
grep -q 'Updating' "$work/second.err" || fail "second: deploy.sh never saw the environment Updating"
! grep -qF -- "$secret" "$work/second.out" "$work/second.err" || fail "second: deploy.sh printed the API_TOKEN"
pass "deploy: updated to 1.1.0 with API_TOKEN as an environment property, the token never printed"

step "deploy: the same APP_VERSION again is refused"
objects=$(awsr s3api list-objects-v2 --bucket "$bucket" --query 'length(Contents)' --output text)
deploy again APP_VERSION=1.1.0
expect_error again "version label '1.1.0' already exists in application $app"
[[ $(awsr s3api list-objects-v2 --bucket "$bucket" --query 'length(Contents)' --output text) == "$objects" ]] ||
    fail "again: something was uploaded"
expect_env 1.1.0 "$(printf 'API_TOKEN=%s\nAPP_NAME=Demo API\nAPP_VERSION=1.1.0' "$secret")"
pass "deploy: a reused version label stops the deploy before it uploads anything"

step "deploy: a third deploy, without API_TOKEN, takes the token off"
deploy third APP_VERSION=1.2.0
expect_ok third
expect_env 1.2.0 "$(printf 'APP_NAME=Demo API\nAPP_VERSION=1.2.0')"
pass "deploy: updated to 1.2.0, API_TOKEN removed"

step "deploy: the extension refuses what Elastic Beanstalk would"
# expect_aws_error TEXT ARG...: `aws ARG...` fails, saying TEXT.
expect_aws_error() {
    local text=$1 out
    shift
    if out=$(awsr "$@" 2>&1); then fail "aws $* succeeded; expected: $text"; fi
    [[ $out == *"$text"* ]] || fail "aws $* failed without saying '$text': $out"
}
expect_aws_error "OptionName: 'DEBUG'): Unknown configuration setting" \
    elasticbeanstalk update-environment --application-name "$app" --environment-name "$environment" \
    --version-label 1.2.0 --option-settings Namespace=aws:elasticbeanstalk:application:environment,OptionName=DEBUG,Value=1
expect_aws_error "Unable to download from S3 location (Bucket: $bucket, Key: $app/missing.zip)" \
    elasticbeanstalk create-application-version --application-name "$app" --version-label missing \
    --source-bundle "S3Bucket=$bucket,S3Key=$app/missing.zip"
expect_aws_error "No Application Version named '9.9.9' found" \
    elasticbeanstalk update-environment --application-name "$app" --environment-name "$environment" --version-label 9.9.9
# A bundle without a Procfile: accepted as a version, but the environment would not start it.
(cd "$work/app" && rm -f ../broken.zip && zip -q ../broken.zip mock-rest-api)
awsr s3 cp --only-show-errors "$work/broken.zip" "s3://$bucket/$app/broken.zip"
awsr elasticbeanstalk create-application-version --application-name "$app" --version-label broken \
    --source-bundle "S3Bucket=$bucket,S3Key=$app/broken.zip" >/dev/null
awsr elasticbeanstalk update-environment --application-name "$app" --environment-name "$environment" \
    --version-label broken >/dev/null
for _ in 1 2 3 4; do
    got=$(awsr elasticbeanstalk describe-environments --application-name "$app" \
        --environment-names "$environment" --query 'Environments[0].[Status,Health,VersionLabel]' --output text)
    if [[ $got != Updating* ]]; then break; fi
done
[[ $got == $'Ready\tRed\t1.2.0' ]] || fail "a bundle without a Procfile: the environment is '$got'"
pass "extension: refuses an unknown option, a bundle not in S3, an unknown version; a bundle without a Procfile fails to deploy"

step "deploy: an environment that is busy is left alone"
awsr elasticbeanstalk update-environment --application-name "$app" --environment-name "$environment" \
    --version-label 1.2.0 >/dev/null
deploy busy APP_VERSION=1.3.0
expect_error busy "environment $environment is Updating, not Ready: wait until it is Ready, then run again"
[[ $(awsr elasticbeanstalk describe-application-versions --application-name "$app" --version-labels 1.3.0 \
    --query 'length(ApplicationVersions)' --output text) == 0 ]] || fail "busy: a version was created"
pass "deploy: an environment that is not Ready stops the deploy before it uploads anything"

stop "$moto_pid"
moto_pid=""
printf '\ndeploy: %d passed, 0 failed\n' "$passed"
