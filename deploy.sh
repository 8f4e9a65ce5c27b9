#!/usr/bin/env bash
# Deploys mock-rest-api to AWS Elastic Beanstalk, on the platform "Go 1 on 64bit Amazon Linux
# 2023", which runs a prebuilt binary named by a Procfile behind its nginx.
#
#   ./deploy.sh                  build, bundle, upload, deploy; wait until Ready; print the URL
#   ./deploy.sh --dry-run        build and check the bundle; print the aws commands, run none
#   ./deploy.sh --env-file FILE  take the settings from FILE instead of ./deploy.env
#
# Settings come from the environment or from deploy.env (KEY=VALUE lines, read as text, never
# run; the environment wins). deploy.env.example explains each one: edit those, not this script.
#
# Steps: build a static x86-64 binary (musl); zip it with deploy/bundle/ (Procfile, an nginx
# setting) and check the zip; check that the version label is new, the bucket is in the region
# and the environment is Ready (or missing: then it is created, single-instance, on the newest
# "64bit Amazon Linux 2023 v* running Go 1"); upload the zip; create the application version;
# update the environment to it, with APP_NAME, APP_VERSION and API_TOKEN as environment
# properties; wait until the environment is Ready on that version; print its URL.
# The first failure stops the script with a message.
set -euo pipefail

readonly target=x86_64-unknown-linux-musl
readonly bin=mock-rest-api
readonly env_ns=aws:elasticbeanstalk:application:environment
readonly stack_re='^64bit Amazon Linux 2023 v[0-9.]+ running Go 1$'

die() {
    printf 'deploy.sh: %s\n' "$*" >&2
    exit 1
}
say() { printf 'deploy.sh: %s\n' "$*" >&2; }
usage() { sed -n '5,7s/^# \{0,1\}//p' "$0"; }

# --- arguments ---------------------------------------------------------------------------------

dry_run=false
env_file=""
while [[ $# -gt 0 ]]; do
    case "$1" in
        --dry-run) dry_run=true ;;
        --env-file)
            [[ $# -ge 2 ]] || die "--env-file needs a file name"
            [[ -f $2 ]] || die "--env-file $2: no such file"
            env_file=$(cd "$(dirname "$2")" && pwd)/$(basename "$2")
            shift
            ;;
        -h | --help)
            usage
            exit 0
            ;;
        *)
            usage >&2
            die "unknown argument '$1'"
            ;;
    esac
    shift
done

cd "$(dirname "$0")"
root=$(pwd)
[[ -n $env_file || ! -f deploy.env ]] || env_file=$root/deploy.env

# --- settings ----------------------------------------------------------------------------------

settings=(EB_APPLICATION EB_ENVIRONMENT EB_BUCKET EB_REGION APP_NAME APP_VERSION API_TOKEN
    EB_INSTANCE_TYPE EB_INSTANCE_PROFILE DEPLOY_TIMEOUT_SECS DEPLOY_POLL_SECS)

# load_env_file FILE: sets each KEY=VALUE of FILE that the environment does not set already.
load_env_file() {
    local file=$1 n=0 line key value
    while IFS= read -r line || [[ -n $line ]]; do
        n=$((n + 1))
        line=${line%$'\r'}
        [[ $line =~ ^[[:space:]]*(#|$) ]] && continue
        [[ $line =~ ^[[:space:]]*(export[[:space:]]+)?([A-Za-z_][A-Za-z0-9_]*)=(.*)$ ]] ||
            die "$file:$n: not a KEY=VALUE line"
        key=${BASH_REMATCH[2]}
        value=${BASH_REMATCH[3]}
        if [[ $value =~ ^\"(.*)\"$ || $value =~ ^\'(.*)\'$ ]]; then
            value=${BASH_REMATCH[1]}
        fi
        [[ " ${settings[*]} " == *" $key "* ]] ||
            die "$file:$n: unknown setting '$key' (known: ${settings[*]})"
        [[ -n ${!key+set} ]] || printf -v "$key" '%s' "$value"
    done <"$file"
}
[[ -z $env_file ]] || load_env_file "$env_file"

app=${EB_APPLICATION:-}
environment=${EB_ENVIRONMENT:-}
bucket=${EB_BUCKET:-}
region=${EB_REGION:-${AWS_REGION:-${AWS_DEFAULT_REGION:-}}}
app_name=${APP_NAME:-mock-rest-api}
version=${APP_VERSION:-}
token=${API_TOKEN:-}
instance_type=${EB_INSTANCE_TYPE:-t3.micro}
instance_profile=${EB_INSTANCE_PROFILE:-aws-elasticbeanstalk-ec2-role}
timeout_secs=${DEPLOY_TIMEOUT_SECS:-1200}
poll_secs=${DEPLOY_POLL_SECS:-15}

where="set it in ${env_file:-deploy.env} (see deploy.env.example) or in the environment"
[[ -n $app ]] || die "EB_APPLICATION (the Elastic Beanstalk application) is not set: $where"
[[ -n $environment ]] || die "EB_ENVIRONMENT (the Elastic Beanstalk environment) is not set: $where"
[[ -n $bucket ]] || die "EB_BUCKET (the S3 bucket for the bundle) is not set: $where"
[[ -n $region ]] || die "EB_REGION (such as eu-west-1) is not set: $where"
[[ -n $version ]] || die "APP_VERSION (also the version label: a new one for every deploy) is not set: $where"
[[ $app =~ ^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$ ]] ||
    die "EB_APPLICATION '$app': use 1 to 100 letters, digits, '.', '_' or '-'"
[[ $environment =~ ^[A-Za-z0-9][A-Za-z0-9-]{2,38}[A-Za-z0-9]$ ]] ||
    die "EB_ENVIRONMENT '$environment': use 4 to 40 letters, digits or '-', not '-' at either end"
[[ $bucket =~ ^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$ ]] || die "EB_BUCKET '$bucket' is not an S3 bucket name"
[[ $region =~ ^[a-z]{2}(-[a-z]+)+-[0-9]+$ ]] || die "EB_REGION '$region' is not an AWS region"
[[ $version =~ ^[A-Za-z0-9][A-Za-z0-9._+-]{0,99}$ ]] ||
    die "APP_VERSION '$version': use 1 to 100 letters, digits, '.', '_', '+' or '-', starting with a letter or digit"
[[ -n $app_name && $app_name != *[[:cntrl:]]* && ${#app_name} -le 200 ]] ||
    die "APP_NAME: use 1 to 200 characters and no control characters"
[[ $token != *[[:cntrl:]]* && $token != *[[:space:]]* && ${#token} -le 512 ]] ||
    die "API_TOKEN: at most 512 characters, no spaces or control characters"
[[ $instance_type =~ ^[a-z0-9]+\.[a-z0-9]+$ ]] || die "EB_INSTANCE_TYPE '$instance_type' is not an instance type"
[[ $instance_profile =~ ^[A-Za-z0-9+=,.@_-]{1,128}$ ]] ||
    die "EB_INSTANCE_PROFILE '$instance_profile' is not an instance profile name"
[[ $timeout_secs =~ ^[1-9][0-9]*$ ]] || die "DEPLOY_TIMEOUT_SECS '$timeout_secs' is not a number of seconds"
[[ $poll_secs =~ ^[0-9]+$ ]] || die "DEPLOY_POLL_SECS '$poll_secs' is not a number of seconds"

key=$app/$bin-$version.zip
target_dir=${CARGO_TARGET_DIR:-target}
[[ $target_dir == /* ]] || target_dir=$root/$target_dir
bundle=$target_dir/deploy/$bin-$version.zip
bundle=${bundle#"$root/"} # shown and used relative to the repository, where it can be

work=$(mktemp -d "${TMPDIR:-/tmp}/deploy.XXXXXX")
trap 'rm -rf "$work"' EXIT

# --- build -------------------------------------------------------------------------------------

for tool in cargo zip unzip od; do
    command -v "$tool" >/dev/null || die "'$tool' is not installed: the build and the bundle need it"
done
if command -v rustup >/dev/null && ! rustup target list --installed | grep -qx "$target"; then
    say "rustup target add $target"
    rustup target add "$target" >&2 || die "rustup could not add the target $target"
fi
say "building a static binary for $target (cargo build --release)"
# Stripped: a smaller bundle to upload and keep. Nothing in the build compiles C today; if a
# dependency ever does, the cc crate looks for musl-gcc (Debian's musl-tools).
if ! CARGO_PROFILE_RELEASE_STRIP=symbols cargo build --locked --release -p "$bin" --target "$target" >&2; then
    hint=""
    command -v musl-gcc >/dev/null || hint=" (a crate that compiles C needs musl-gcc: apt-get install musl-tools)"
    die "the build for $target failed$hint"
fi

# --- bundle ------------------------------------------------------------------------------------

stage=$work/bundle
mkdir "$stage"
cp -R deploy/bundle/. "$stage/"
cp "$target_dir/$target/release/$bin" "$stage/$bin"
find "$stage" -type f -exec chmod 0644 {} +
chmod 0755 "$stage/$bin"
# A fixed time and no extra fields: the same binary makes the same zip.
find "$stage" -exec env TZ=UTC touch -h -t 200001010000 {} +
mkdir -p "$(dirname "$bundle")"
rm -f "$bundle"
(cd "$stage" && find . -type f | LC_ALL=C sort | sed 's|^\./||' | TZ=UTC zip -X -q -D "$root/$bundle" -@) ||
    die "zip could not write $bundle"

# le_uint FILE OFFSET SIZE: the little-endian unsigned integer of SIZE bytes at OFFSET of FILE.
le_uint() { od -An -v -t "u$3" -j "$2" -N "$3" --endian=little "$1" | tr -d ' \n'; }

# check_static_elf FILE: FILE is an x86-64 ELF executable with no program interpreter (no
# dynamic loader): it runs on Amazon Linux 2023 whatever the glibc there.
check_static_elf() {
    local file=$1 type phoff phentsize phnum i
    [[ $(od -An -v -t x1 -N 6 "$file" | tr -d ' \n') == 7f454c460201 ]] ||
        die "bundle: $bin is not a 64-bit little-endian ELF file"
    type=$(le_uint "$file" 16 2)
    [[ $type == 2 || $type == 3 ]] || die "bundle: $bin is not an ELF executable (e_type $type)"
    [[ $(le_uint "$file" 18 2) == 62 ]] || die "bundle: $bin is not built for x86-64"
    phoff=$(le_uint "$file" 32 8)
    phentsize=$(le_uint "$file" 54 2)
    phnum=$(le_uint "$file" 56 2)
    [[ $phnum -gt 0 ]] || die "bundle: $bin has no program headers"
    for ((i = 0; i < phnum; i++)); do
        [[ $(le_uint "$file" $((phoff + i * phentsize)) 4) != 3 ]] ||
            die "bundle: $bin names a program interpreter (it is dynamically linked); it must be static"
    done
}

# check_bundle ZIP: what Elastic Beanstalk needs of the zip, read back from the zip itself.
check_bundle() {
    local zip=$1 listing names line name procfile web
    listing=$(unzip -Z "$zip") || die "bundle: $zip is not a readable zip"
    names=$(unzip -Z1 "$zip")
    while IFS= read -r name; do
        [[ $name != /* && $name != *..* && $name != *\\* ]] || die "bundle: unsafe entry name '$name'"
    done <<<"$names"
    grep -qx Procfile <<<"$names" || die "bundle: no Procfile at the root of the zip"
    grep -qx "$bin" <<<"$names" || die "bundle: no $bin at the root of the zip"
    ! grep -Eq '^l[-rwxsStT]{9} ' <<<"$listing" || die "bundle: the zip holds a symbolic link"
    grep -Eq "^-rwxr-xr-x .* unx .* $bin\$" <<<"$listing" ||
        die "bundle: $bin is not recorded with Unix mode -rwxr-xr-x in the zip"
    procfile=$(unzip -p "$zip" Procfile)
    while IFS= read -r line; do
        [[ -z $line || $line =~ ^[A-Za-z0-9_-]+:\ +[^[:space:]] ]] ||
            die "bundle: Procfile line '$line' is not 'name: command'"
    done <<<"$procfile"
    web=$(sed -n 's/^web: *//p' <<<"$procfile")
    [[ $web == "./$bin" ]] || die "bundle: the Procfile's web process is '$web', not './$bin'"
    unzip -p "$zip" "$bin" >"$work/bin.check"
    check_static_elf "$work/bin.check"
    [[ $(wc -c <"$zip") -lt $((500 * 1024 * 1024)) ]] || die "bundle: over Elastic Beanstalk's 500 MB"
}
check_bundle "$bundle"
say "bundle $bundle: checked (Procfile, file modes, static x86-64 binary)"

# --- what is sent ------------------------------------------------------------------------------

# json_string TEXT: TEXT as a JSON string (control characters were refused above).
json_string() {
    local s=${1//\\/\\\\}
    printf '"%s"' "${s//\"/\\\"}"
}

# option_settings SHOW_TOKEN [NAMESPACE NAME VALUE]...: the JSON for --option-settings: the
# environment properties, then the triples given. API_TOKEN's value is masked unless SHOW_TOKEN
# is true: only the private file gets it.
option_settings() {
    local show_token=$1 entries=() i sep=""
    shift
    entries+=("$env_ns" APP_NAME "$app_name" "$env_ns" APP_VERSION "$version")
    if [[ -n $token ]]; then
        if $show_token; then entries+=("$env_ns" API_TOKEN "$token"); else entries+=("$env_ns" API_TOKEN '****'); fi
    fi
    entries+=("$@")
    printf '['
    for ((i = 0; i < ${#entries[@]}; i += 3)); do
        printf '%s\n  {"Namespace": %s, "OptionName": %s, "Value": %s}' "$sep" \
            "$(json_string "${entries[i]}")" "$(json_string "${entries[i + 1]}")" "$(json_string "${entries[i + 2]}")"
        sep=,
    done
    printf '\n]\n'
}

create_extra=(
    aws:elasticbeanstalk:environment EnvironmentType SingleInstance
    aws:autoscaling:launchconfiguration InstanceType "$instance_type"
    aws:autoscaling:launchconfiguration IamInstanceProfile "$instance_profile"
)
(
    umask 077
    option_settings true >"$work/update-options.json"
    option_settings true "${create_extra[@]}" >"$work/create-options.json"
)
# A token taken out of deploy.env is taken off the environment too.
update_extra=()
[[ -n $token ]] || update_extra=(--options-to-remove "Namespace=$env_ns,OptionName=API_TOKEN")

# shown ARG...: the command line as a shell would take it, each argument quoted only if needed.
shown() {
    local out="" arg
    for arg in "$@"; do
        if [[ $arg =~ ^[A-Za-z0-9_./:=,@%+-]+$ ]]; then
            out+=" $arg"
        elif [[ $arg != *\'* ]]; then
            out+=" '$arg'"
        elif [[ $arg != *[\"\$\`\\!]* ]]; then
            out+=" \"$arg\""
        else
            out+=" '${arg//\'/\'\\\'\'}'"
        fi
    done
    printf '%s\n' "${out# }"
}

commit=$(git describe --always --dirty --abbrev=12 2>/dev/null || echo "not from git")
describe=(elasticbeanstalk describe-environments --application-name "$app"
    --environment-names "$environment" --no-include-deleted
    --query 'Environments[0].[Status,Health,VersionLabel,CNAME]' --output text)
kind_query="ConfigurationSettings[0].OptionSettings[?Namespace=='aws:elasticbeanstalk:environment'"
kind_query+=" && OptionName=='EnvironmentType'].Value | [0]"
description="$app_name $version (mock-rest-api $commit)"
create_version=(elasticbeanstalk create-application-version --application-name "$app"
    --version-label "$version" --description "${description:0:200}"
    --source-bundle "S3Bucket=$bucket,S3Key=$key" --auto-create-application
    --query ApplicationVersion.VersionLabel --output text)
update_env=(elasticbeanstalk update-environment --application-name "$app"
    --environment-name "$environment" --version-label "$version"
    --option-settings "file://$work/update-options.json" "${update_extra[@]}"
    --query Status --output text)
# create_env STACK: the create-environment command, on platform STACK.
create_env() {
    create_env=(elasticbeanstalk create-environment --application-name "$app"
        --environment-name "$environment" --version-label "$version" --solution-stack-name "$1"
        --option-settings "file://$work/create-options.json" --query Status --output text)
}

if $dry_run; then
    p() { shown aws --region "$region" "$@" | sed "s|$work/|\$TMP/|g"; }
    cat <<EOF
Dry run: the bundle is built and checked; no aws command runs and nothing is uploaded.

Bundle $bundle, for s3://$bucket/$key:
$(unzip -Z "$bundle" | sed -nE 's/^([-dl][-rwxsStT]{9}) .* ([^ ]+)$/  \1  \2/p')
  $bin is a static x86-64 executable (no program interpreter).

\$TMP/update-options.json (private; API_TOKEN, if any, is masked here):
$(option_settings false)
\$TMP/create-options.json, for a new environment, adds:
$(printf '  %s %s=%s\n' "${create_extra[@]}")

The aws commands of a deploy, in order; the first that fails stops it.
# The credentials work; version label $version is new; the bucket is in $region.
$(p sts get-caller-identity --query Account --output text)
$(p elasticbeanstalk describe-application-versions --application-name "$app" --version-labels "$version" \
        --query 'length(ApplicationVersions)' --output text)
$(p s3api get-bucket-location --bucket "$bucket" --query LocationConstraint --output text)
# The environment must be Ready, or missing (then it is created).
$(p "${describe[@]}")
# If it exists: a warning unless it is single-instance (each instance holds its own store).
$(p elasticbeanstalk describe-configuration-settings --application-name "$app" \
        --environment-name "$environment" --query "$kind_query" --output text)
# If it is missing: the newest '64bit Amazon Linux 2023 v* running Go 1', and the instance profile.
$(p elasticbeanstalk list-available-solution-stacks --query SolutionStacks --output text)
$(p iam get-instance-profile --instance-profile-name "$instance_profile" --query InstanceProfile.Arn --output text)
# Upload; the application version (and the application, if missing).
$(p s3 cp --no-progress --only-show-errors "$bundle" "s3://$bucket/$key")
$(p "${create_version[@]}")
# Deploy: update the environment, or create it on the platform found above (PLATFORM).
$(p "${update_env[@]}")
$(create_env PLATFORM && p "${create_env[@]}")
# Every ${poll_secs}s, for at most ${timeout_secs}s, until it is Ready on $version and not Red.
$(p "${describe[@]}")
EOF
    exit 0
fi

# --- deploy ------------------------------------------------------------------------------------

command -v aws >/dev/null || die "the AWS CLI ('aws') is not installed; see README.md, Deploy"
export AWS_PAGER=""

# aws_out WHAT ARG...: runs `aws --region REGION ARG...` (shown first) and prints its output; on
# a failure stops the script, naming WHAT and quoting aws's error.
aws_out() {
    local what=$1 out
    shift
    printf '+ %s\n' "$(shown aws --region "$region" "$@")" >&2
    if ! out=$(aws --region "$region" "$@" 2>"$work/aws.err"); then
        die "$what failed: $(tr -s '\n' ' ' <"$work/aws.err")"
    fi
    [[ -z $out ]] || printf '%s\n' "$out"
}

account=$(aws_out "checking the AWS credentials" sts get-caller-identity --query Account --output text) || exit 1
say "AWS account $account, region $region"

taken=$(aws_out "looking up version label $version" elasticbeanstalk describe-application-versions \
    --application-name "$app" --version-labels "$version" \
    --query 'length(ApplicationVersions)' --output text) || exit 1
[[ $taken == 0 ]] || die "version label '$version' already exists in application $app, and a \
label is never reused: set a new APP_VERSION (in ${env_file:-deploy.env} or the environment) and run again"

location=$(aws_out "looking up bucket $bucket (to create it: aws s3 mb s3://$bucket --region $region)" \
    s3api get-bucket-location --bucket "$bucket" --query LocationConstraint --output text) || exit 1
[[ -n $location && $location != None ]] || location=us-east-1
[[ $location == "$region" ]] ||
    die "bucket $bucket is in $location, not $region: Elastic Beanstalk takes bundles from its own region"

state=$(aws_out "looking up environment $environment" "${describe[@]}") || exit 1
read -r status _ _ _ <<<"$state"
stack=""
if [[ $status == None ]]; then
    say "environment $environment does not exist: it will be created (single instance, $instance_type)"
    stacks=$(aws_out "listing the platforms" \
        elasticbeanstalk list-available-solution-stacks --query SolutionStacks --output text) || exit 1
    stack=$(tr '\t' '\n' <<<"$stacks" | grep -E "$stack_re" | sort -V | tail -n 1 || true)
    [[ -n $stack ]] || die "no platform like '64bit Amazon Linux 2023 v* running Go 1' in $region"
    say "platform: $stack"
    aws_out "looking up instance profile $instance_profile, which the new environment's instance \
needs (README.md, Deploy, tells how to create it; or set EB_INSTANCE_PROFILE)" \
        iam get-instance-profile --instance-profile-name "$instance_profile" \
        --query InstanceProfile.Arn --output text >/dev/null || exit 1
elif [[ $status != Ready ]]; then
    die "environment $environment is $status, not Ready: wait until it is Ready, then run again"
else
    kind=$(aws_out "reading the configuration of $environment" \
        elasticbeanstalk describe-configuration-settings --application-name "$app" \
        --environment-name "$environment" --query "$kind_query" --output text) || exit 1
    if [[ $kind == LoadBalanced ]]; then
        say "warning: $environment is load balanced: with more than one instance, each holds its own store and clients see different data"
    fi
fi

say "uploading $bundle"
aws_out "uploading the bundle" s3 cp --no-progress --only-show-errors "$bundle" "s3://$bucket/$key" >&2 || exit 1
aws_out "creating application version $version" "${create_version[@]}" >/dev/null || exit 1
say "environment properties (namespace $env_ns, API_TOKEN masked here):"
option_settings false >&2
if [[ -z $stack ]]; then
    aws_out "updating environment $environment" "${update_env[@]}" >/dev/null || exit 1
else
    create_env "$stack"
    aws_out "creating environment $environment" "${create_env[@]}" >/dev/null || exit 1
fi

# Ready on the new version is success. Ready on another version after the environment was busy
# is a failed deployment (Elastic Beanstalk went back to the old one); before it was seen busy,
# the update has not shown yet.
say "waiting until $environment is Ready (every ${poll_secs}s, at most ${timeout_secs}s)"
events="aws elasticbeanstalk describe-events --region $region --environment-name $environment --max-items 20"
deadline=$((SECONDS + timeout_secs))
busy=false
while :; do
    sleep "$poll_secs"
    state=$(aws_out "checking environment $environment" "${describe[@]}") || exit 1
    read -r status health running cname <<<"$state"
    say "$environment: $status, health $health, version $running"
    case $status in
        Ready)
            [[ $running != "$version" ]] || break
            ! $busy || die "$environment is Ready but on version $running, not $version: the deployment failed; see: $events"
            ;;
        Terminating | Terminated) die "$environment is $status; see: $events" ;;
        *) busy=true ;;
    esac
    ((SECONDS < deadline)) || die "$environment is still $status after ${timeout_secs}s; see: $events"
done
[[ $health != Red ]] || die "$environment runs version $version but its health is Red; see: $events"
[[ -n $cname && $cname != None ]] || die "$environment is Ready but has no CNAME"

say "deployed $app_name $version to $environment"
printf 'http://%s/\n' "$cname"
