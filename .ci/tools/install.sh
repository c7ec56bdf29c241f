#!/usr/bin/env bash
# Installs everything the end-to-end tests need, reusing a cache on later runs:
#   - Debian packages for the local environment (podman, docker-registry, htpasswd);
#   - terraform (the one on PATH when >= 1.5, else built from its Go module);
#   - Nomad, built from its Go module (MPL-2.0 1.6.x line);
#   - Terraform providers hashicorp/nomad and kreuzwerker/docker, built from their
#     Go modules into a filesystem mirror, plus a Terraform CLI config using it;
# Everything except the apt packages goes to
#   ${DASHBOARD_TOOLS_DIR:-$HOME/.cache/dashboard-deploy-tools}
# Every step runs even when an earlier one failed; the script exits non-zero at
# the end if any step failed, naming it. A provider the Go module proxy does not
# serve is not a failure but "unavailable": the script says so, the tests that
# need it are skipped with that reason, and an operator can fill the mirror from
# a connected machine (README, "Air-gapped machines"). TOOLS_REQUIRE_PROVIDERS=1
# makes it a failure.
set -euo pipefail

CACHE="${DASHBOARD_TOOLS_DIR:-$HOME/.cache/dashboard-deploy-tools}"
mkdir -p "$CACHE"
CACHE="$(cd "$CACHE" && pwd -P)" # terraform.rc needs absolute paths

# Nomad 1.7.0+ is BUSL (not to use); 1.6.3 is the newest 1.6.x the Go module
# proxy serves here (it refuses v1.6.4 and later, and it lists no versions).
NOMAD_VERSION="${NOMAD_VERSION:-1.6.3}"
NOMAD_VERSION="${NOMAD_VERSION#v}"

# Terraform provider versions the stacks require, and the Go module each is
# built from. *_GOVERSION picks the Go module version to download when the
# release tag is not a valid Go version for its module path (v2/v3 tags on
# modules without a /v2 or /v3 suffix need the pseudo-version of the tagged
# commit); without it, vX.Y.Z and vX.Y.Z+incompatible are tried.
NOMAD_PROVIDER_VERSION="${NOMAD_PROVIDER_VERSION:-2.5.2}"
NOMAD_PROVIDER_MODULE="github.com/hashicorp/terraform-provider-nomad"
NOMAD_PROVIDER_GOVERSION="${NOMAD_PROVIDER_GOVERSION:-}"
DOCKER_PROVIDER_VERSION="${DOCKER_PROVIDER_VERSION:-3.6.2}"
DOCKER_PROVIDER_MODULE="github.com/kreuzwerker/terraform-provider-docker"
DOCKER_PROVIDER_GOVERSION="${DOCKER_PROVIDER_GOVERSION:-}"

TERRAFORM_MIN_VERSION=1.5.0
TERRAFORM_BUILD_VERSION=1.5.7 # last MPL-2.0 release

APT_PACKAGES=(podman docker-registry apache2-utils)

MIRROR="$CACHE/mirror"
STAMPS="$CACHE/stamps"
LOGS="$CACHE/logs"
mkdir -p "$CACHE/bin" "$MIRROR" "$STAMPS" "$LOGS"

# Go downloads and build cache live in the tools cache too; -modcacherw keeps
# the module cache deletable with a plain rm -rf.
export GOMODCACHE="$CACHE/go/mod"
export GOCACHE="$CACHE/go/build"
export GOFLAGS="${GOFLAGS:-} -modcacherw -buildvcs=false"
export GOTOOLCHAIN="${GOTOOLCHAIN:-local}"

START=$(date +%s)
log() { printf '[%5ss] %s\n' "$(($(date +%s) - START))" "$*"; }

FAILED=()
UNAVAILABLE=()
# run_step NAME FUNCTION [ARGS...]: runs FUNCTION in a subshell with errexit
# in force (bash ignores set -e inside a function called from an if).
run_step() {
  local name=$1 t0 rc
  shift
  t0=$(date +%s)
  log "$name ..."
  set +e
  ("$@")
  rc=$?
  set -e
  if [[ $rc -eq 0 ]]; then
    log "$name: ok ($(($(date +%s) - t0))s)"
  elif [[ ${STEP_OPTIONAL:-0} == 1 ]]; then
    log "$name: unavailable ($(($(date +%s) - t0))s)"
    UNAVAILABLE+=("$name")
  else
    log "$name: FAILED ($(($(date +%s) - t0))s)"
    FAILED+=("$name")
  fi
}

# Runs a command with its output in a log file; shows the tail on failure.
logged() {
  local logfile=$1
  shift
  if ! "$@" >"$logfile" 2>&1; then
    echo "command failed: $*" >&2
    tail -n 30 "$logfile" | sed 's/^/    /' >&2
    echo "    (full log: $logfile)" >&2
    return 1
  fi
}

# go_download MODULE@VERSION: downloads through the Go module proxy and prints
# the module's directory; prints the proxy's error and fails otherwise.
go_download() {
  local out dir err
  out=$(cd "$CACHE" && go mod download -json "$1" 2>&1) || true
  dir=$(sed -n 's/^[[:space:]]*"Dir": "\(.*\)",\{0,1\}$/\1/p' <<<"$out")
  if [[ -z $dir || ! -d $dir ]]; then
    err=$(sed -n 's/^[[:space:]]*"Error": "\(.*\)",\{0,1\}$/\1/p' <<<"$out")
    echo "go mod download $1: ${err:-$out}" >&2
    return 1
  fi
  printf '%s\n' "$dir"
}

# go_info_field MODULE@VERSION FIELD: a string field of "go list -m -json"
# (Time, or Origin's Hash: the commit the proxy resolved the tag to).
go_info_field() {
  (cd "$CACHE" && go list -m -json "$1" 2>/dev/null) |
    sed -n "s/^[[:space:]]*\"$2\": \"\(.*\)\",\{0,1\}\$/\1/p" | head -n 1
}

# Copies a downloaded module to a writable build dir (module cache dirs are
# read-only and their go.mod may need edits).
writable_copy() {
  rm -rf "$2"
  mkdir -p "$(dirname "$2")"
  cp -R "$1" "$2"
  chmod -R u+w "$2"
}

stamp_ok() { [[ -x $1 && -f $STAMPS/$2 && "$(cat "$STAMPS/$2")" == "$3" ]]; }

# Top released version in a CHANGELOG.md ("## 2.5.2 (...)" or "## [v3.6.2](...)").
changelog_version() {
  grep -m1 -oE '^## \[?v?[0-9]+\.[0-9]+\.[0-9]+' "$1/CHANGELOG.md" 2>/dev/null |
    grep -oE '[0-9]+\.[0-9]+\.[0-9]+'
}

step_apt() {
  local p missing=() sudo=()
  for p in "${APT_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  command -v gcc >/dev/null || missing+=(gcc libc6-dev) # Nomad's build needs cgo
  if [[ ${#missing[@]} -eq 0 ]]; then
    echo "    all present: ${APT_PACKAGES[*]}"
    return 0
  fi
  [[ $(id -u) -eq 0 ]] || sudo=(sudo)
  echo "    installing: ${missing[*]}"
  # Keep the packaged docker-registry service from starting on install: it
  # listens on :5000 on all interfaces, the local env runs its own on loopback.
  local policy=/usr/sbin/policy-rc.d made_policy=0
  if [[ ! -e $policy ]]; then
    printf '#!/bin/sh\nexit 101\n' | "${sudo[@]}" tee "$policy" >/dev/null
    "${sudo[@]}" chmod 755 "$policy"
    made_policy=1
  fi
  local rc=0
  logged "$LOGS/apt-update.log" "${sudo[@]}" apt-get update &&
    logged "$LOGS/apt-install.log" "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive \
      apt-get install -y --no-install-recommends "${missing[@]}" || rc=$?
  [[ $made_policy -eq 0 ]] || "${sudo[@]}" rm -f "$policy"
  if [[ $rc -eq 0 && " ${missing[*]} " == *" docker-registry "* ]] &&
    [[ -d /run/systemd/system ]]; then
    "${sudo[@]}" systemctl disable --now docker-registry >/dev/null 2>&1 || true
  fi
  return "$rc"
}

step_terraform() {
  local tf have
  tf=$(PATH="$CACHE/bin:$PATH" command -v terraform || true)
  if [[ -n $tf ]]; then
    have=$(TF_CLI_CONFIG_FILE=/dev/null "$tf" version 2>/dev/null | sed -n '1s/^Terraform v//p')
    if [[ -n $have && "$(printf '%s\n' "$TERRAFORM_MIN_VERSION" "$have" | sort -V | head -n 1)" == "$TERRAFORM_MIN_VERSION" ]]; then
      echo "    using $tf (v$have)"
      return 0
    fi
    echo "    $tf is v${have:-unknown}, older than $TERRAFORM_MIN_VERSION: building v$TERRAFORM_BUILD_VERSION"
  fi
  local dir work="$CACHE/build/terraform"
  echo "    building github.com/hashicorp/terraform@v$TERRAFORM_BUILD_VERSION (a few minutes)"
  dir=$(go_download "github.com/hashicorp/terraform@v$TERRAFORM_BUILD_VERSION")
  writable_copy "$dir" "$work"
  (cd "$work" && logged "$LOGS/terraform-build.log" env CGO_ENABLED=0 \
    go build -trimpath -ldflags "-s -w" -o "$CACHE/bin/terraform.tmp" .)
  mv "$CACHE/bin/terraform.tmp" "$CACHE/bin/terraform"
  rm -rf "$work"
  TF_CLI_CONFIG_FILE=/dev/null "$CACHE/bin/terraform" version | head -n 1
}

step_nomad() {
  local mv="github.com/hashicorp/nomad@v$NOMAD_VERSION" bin="$CACHE/bin/nomad"
  local stamp
  stamp="$mv $(go env GOVERSION)"
  if stamp_ok "$bin" nomad "$stamp"; then
    echo "    cached: $("$bin" version | head -n 1)"
    return 0
  fi
  local dir hash time api_version api_dir work="$CACHE/build/nomad"
  dir=$(go_download "$mv")
  grep -q 'Mozilla Public License' "$dir/LICENSE" || {
    echo "Nomad v$NOMAD_VERSION is not under MPL-2.0 (see $dir/LICENSE): not to use" >&2
    return 1
  }
  # go.mod has "replace github.com/hashicorp/nomad/api => ./api", but the
  # module zip leaves out the nested api module: fetch it at the tag's commit.
  hash=$(go_info_field "$mv" Hash)
  time=$(go_info_field "$mv" Time)
  if [[ -n ${NOMAD_API_GOVERSION:-} ]]; then
    api_version=$NOMAD_API_GOVERSION
  elif [[ -n $hash && -n $time ]]; then
    api_version="v0.0.0-$(tr -d -- '-:TZ' <<<"$time")-${hash:0:12}"
  else
    echo "the proxy gives no commit for $mv; set NOMAD_API_GOVERSION to the" \
      "github.com/hashicorp/nomad/api pseudo-version of that tag's commit" >&2
    return 1
  fi
  api_dir=$(go_download "github.com/hashicorp/nomad/api@$api_version")
  writable_copy "$dir" "$work/nomad"
  writable_copy "$api_dir" "$work/api"
  (cd "$work/nomad" && go mod edit -replace "github.com/hashicorp/nomad/api=../api")
  echo "    building $mv with api@$api_version (cgo; 5-10 minutes cold)"
  # cgo is required: the executor imports runc's nsenter, which is cgo-only.
  (cd "$work/nomad" && logged "$LOGS/nomad-build.log" env CGO_ENABLED=1 \
    go build -trimpath \
    -ldflags "-s -w -X github.com/hashicorp/nomad/version.GitCommit=${hash:0:12}" \
    -o "$bin.tmp" .)
  mv "$bin.tmp" "$bin"
  rm -rf "$work"
  "$bin" version | head -n 1 | grep -qx "Nomad v$NOMAD_VERSION" || {
    echo "built binary reports: $("$bin" version | head -n 1)" >&2
    return 1
  }
  echo "$stamp" >"$STAMPS/nomad"
  echo "    $("$bin" version | tr '\n' ' ')"
}

# step_provider NAMESPACE TYPE VERSION MODULE GOVERSION LDFLAGS
step_provider() {
  local ns=$1 type=$2 version=$3 module=$4 goversion=$5 ldflags=$6
  local dest="$MIRROR/registry.terraform.io/$ns/$type/$version/linux_amd64/terraform-provider-${type}_v$version"
  local candidates=() c dir="" gv="" errs=""
  if [[ -n $goversion ]]; then candidates=("$goversion"); else
    candidates=("v$version" "v$version+incompatible")
  fi
  for c in "${candidates[@]}"; do
    if stamp_ok "$dest" "$ns-$type-$version" "$module@$c $(go env GOVERSION) $ldflags"; then
      echo "    cached: $dest ($module@$c)"
      return 0
    fi
  done
  for c in "${candidates[@]}"; do
    if dir=$(go_download "$module@$c" 2>"$LOGS/$type-download.err"); then
      gv=$c
      break
    fi
    errs+="      $(cat "$LOGS/$type-download.err")"$'\n'
  done
  if [[ -z $gv ]]; then
    echo "the Go module proxy does not serve $module as $ns/$type $version; tried:" >&2
    printf '%s' "$errs" >&2
    echo "    set ${type^^}_PROVIDER_GOVERSION to the Go (pseudo-)version of the v$version tag's commit" >&2
    return 1
  fi
  local found
  found=$(changelog_version "$dir" || true)
  if [[ $found != "$version" ]]; then
    echo "$module@$gv is not $version: its CHANGELOG.md tops out at '${found:-nothing}'" >&2
    return 1
  fi
  local work="$CACHE/build/provider-$type"
  writable_copy "$dir" "$work"
  echo "    building $module@$gv as $ns/$type $version (a few minutes cold)"
  mkdir -p "$(dirname "$dest")"
  # Their go.mod files carry replace directives, so "go install mod@version"
  # refuses them: build inside the copied module instead.
  if ! (cd "$work" && logged "$LOGS/$type-build.log" go build -trimpath \
    -ldflags "-s -w $ldflags" -o "$dest.tmp" .); then
    grep -q 'linkname' "$LOGS/$type-build.log" || return 1
    echo "    retrying with -checklinkname=0 (old dependency uses //go:linkname)"
    (cd "$work" && logged "$LOGS/$type-build.log" go build -trimpath \
      -ldflags "-s -w -checklinkname=0 $ldflags" -o "$dest.tmp" .)
  fi
  mv "$dest.tmp" "$dest"
  rm -rf "$work"
  echo "$module@$gv $(go env GOVERSION) $ldflags" >"$STAMPS/$ns-$type-$version"
  echo "    installed $dest"
}

step_config() {
  cat >"$CACHE/terraform.rc" <<EOF
# Generated by .ci/tools/install.sh: providers come from the local mirror only.
provider_installation {
  filesystem_mirror {
    path    = "$MIRROR"
    include = ["registry.terraform.io/hashicorp/nomad", "registry.terraform.io/kreuzwerker/docker"]
  }
  direct {
    exclude = ["registry.terraform.io/hashicorp/nomad", "registry.terraform.io/kreuzwerker/docker"]
  }
}
EOF
  echo "    wrote $CACHE/terraform.rc"
}

# Proves the mirror: terraform init of both providers at their exact versions,
# with the registry unreachable by configuration (only the mirror is allowed).
step_check_init() {
  local tmp tf
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  cat >"$tmp/main.tf" <<EOF
terraform {
  required_providers {
    nomad  = { source = "hashicorp/nomad", version = "$NOMAD_PROVIDER_VERSION" }
    docker = { source = "kreuzwerker/docker", version = "$DOCKER_PROVIDER_VERSION" }
  }
}
EOF
  tf=$(PATH="$CACHE/bin:$PATH" command -v terraform)
  (cd "$tmp" && logged "$LOGS/terraform-init.log" env TF_CLI_CONFIG_FILE="$CACHE/terraform.rc" \
    TF_PLUGIN_CACHE_DIR= TF_IN_AUTOMATION=1 "$tf" init -input=false -no-color)
  grep -E '^- Installed|^- Using' "$LOGS/terraform-init.log" | sed 's/^/    /'
}

log "tools cache: $CACHE"
run_step "apt packages (${APT_PACKAGES[*]})" step_apt
run_step "terraform >= $TERRAFORM_MIN_VERSION" step_terraform
run_step "nomad v$NOMAD_VERSION" step_nomad
# provider_step NAMESPACE TYPE VERSION MODULE GOVERSION LDFLAGS: a provider
# already in the mirror (built earlier, or copied in from a connected machine)
# is used as it is; else it is built; if the proxy does not serve it, it is
# recorded as unavailable.
provider_step() {
  local name="provider $1/$2 $3"
  if compgen -G "$MIRROR/registry.terraform.io/$1/$2/$3/linux_amd64/terraform-provider-*" >/dev/null ||
    compgen -G "$MIRROR/registry.terraform.io/$1/$2/terraform-provider-$2_$3_linux_amd64.zip" >/dev/null; then
    log "$name: in the mirror"
    return 0
  fi
  local optional=1
  [[ ${TOOLS_REQUIRE_PROVIDERS:-0} != 1 ]] || optional=0
  STEP_OPTIONAL=$optional run_step "$name" step_provider "$@"
}
provider_step hashicorp nomad "$NOMAD_PROVIDER_VERSION" "$NOMAD_PROVIDER_MODULE" "$NOMAD_PROVIDER_GOVERSION" ""
# kreuzwerker's main.go has "var version" set by goreleaser; hashicorp/nomad's has none.
provider_step kreuzwerker docker "$DOCKER_PROVIDER_VERSION" "$DOCKER_PROVIDER_MODULE" "$DOCKER_PROVIDER_GOVERSION" \
  "-X main.version=$DOCKER_PROVIDER_VERSION"
run_step "terraform.rc" step_config
if [[ ${#UNAVAILABLE[@]} -eq 0 ]]; then
  run_step "terraform init check (mirror only)" step_check_init
else
  log "terraform init check: skipped (a provider is missing from the mirror)"
fi

log "done in $(($(date +%s) - START))s"
cat <<EOF

To use the tools in a shell:
    DASHBOARD_TOOLS_DIR="$CACHE" source .ci/tools/env.sh
It puts $CACHE/bin first on PATH and sets TF_CLI_CONFIG_FILE=$CACHE/terraform.rc.
EOF
if [[ ${#UNAVAILABLE[@]} -gt 0 ]]; then
  echo
  echo "UNAVAILABLE here (the Go module proxy does not serve them):"
  printf '  - %s\n' "${UNAVAILABLE[@]}"
  echo "The end-to-end tests that deploy through Terraform are skipped until the mirror holds them;"
  echo "fill it from a connected machine with 'terraform providers mirror' (README, \"Air-gapped machines\")."
fi
if [[ ${#FAILED[@]} -gt 0 ]]; then
  echo
  echo "FAILED steps:" >&2
  printf '  - %s\n' "${FAILED[@]}" >&2
  echo "Logs: $LOGS" >&2
  exit 1
fi
