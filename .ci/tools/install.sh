#!/usr/bin/env bash
# Installs the tools a deploy and the end-to-end tests need, reusing a cache on later runs:
#   - Debian packages for the local environment (podman, docker-registry, htpasswd) and
#     for the shared-state tests (postgresql: its server binaries, started by the tests);
#     skipped with --production-only;
#   - terraform (the one on PATH when >= 1.5, else built from its Go module);
#   - Nomad, built from its Go module (MPL-2.0 1.6.x line); with --production-only, a nomad
#     1.6+ already on PATH is used instead;
#   - Terraform providers hashicorp/nomad and kreuzwerker/docker into a filesystem mirror, plus a
#     Terraform CLI config using it. When their release-tag source archives are there
#     (${DASHBOARD_PROVIDER_SOURCES:-../shared/providers}), built from them with the patches in
#     .ci/tools/patches applied (air-gapped machines, CI); otherwise taken from the public
#     Terraform registry with `terraform providers mirror`, unpatched.
# Everything except the apt packages goes to
#   ${DASHBOARD_TOOLS_DIR:-$HOME/.cache/dashboard-deploy-tools}
# Versions and checksums come from config/tools.env. Every step runs even when an
# earlier one failed; the script exits non-zero at the end if any step failed,
# naming it and its log. --help: the options.
set -euo pipefail

usage() {
  cat <<'EOF'
usage: npm run tools [-- [--production-only] [--dry-run]]
       (bash .ci/tools/install.sh [--production-only] [--dry-run])

Installs Terraform, Nomad and the two Terraform providers into
${DASHBOARD_TOOLS_DIR:-~/.cache/dashboard-deploy-tools}, plus the Debian packages the local
environment and the end-to-end tests need.

  --production-only  for a machine that only deploys to a real cluster: no apt packages (no root,
                     no podman), and the nomad already on PATH (1.6 or newer) instead of a build;
                     Nomad is built only when there is none. Also DASHBOARD_TOOLS_PRODUCTION_ONLY=1.
  --dry-run          prints each decision and the exact command it would run, changes nothing,
                     exits 0. Also DASHBOARD_TOOLS_PLAN=1.
  -h, --help         this text.

Providers: built from the source archives in $DASHBOARD_PROVIDER_SOURCES (default
../shared/providers beside this repository) when it holds them, with .ci/tools/patches applied;
otherwise from the public Terraform registry (terraform providers mirror), unpatched.

Exit status: 0 everything installed (or, with --dry-run, the plan printed); 1 a step failed (named
at the end with its log) or a usage error.
EOF
}

PRODUCTION_ONLY=0
[[ ${DASHBOARD_TOOLS_PRODUCTION_ONLY:-} != 1 ]] || PRODUCTION_ONLY=1
PLAN=0
[[ ${DASHBOARD_TOOLS_PLAN:-} != 1 ]] || PLAN=1
for arg in "$@"; do
  case $arg in
    --production-only) PRODUCTION_ONLY=1 ;;
    --dry-run) PLAN=1 ;;
    -h | --help)
      usage
      exit 0
      ;;
    *)
      usage >&2
      echo "install.sh: unknown argument '$arg'" >&2
      exit 1
      ;;
  esac
done

CACHE="${DASHBOARD_TOOLS_DIR:-$HOME/.cache/dashboard-deploy-tools}"
[[ $PLAN -eq 1 ]] || mkdir -p "$CACHE"
# terraform.rc needs absolute paths; a dry run creates nothing, so its cache may not exist yet.
if [[ -d $CACHE ]]; then
  CACHE="$(cd "$CACHE" && pwd -P)"
elif [[ $CACHE != /* ]]; then
  CACHE="$PWD/$CACHE"
fi

# Versions and checksums: config/tools.env (read by the TypeScript too); the environment overrides.
# shellcheck source=tools-env.sh
. "$(dirname "${BASH_SOURCE[0]}")/tools-env.sh"
NOMAD_VERSION="${NOMAD_VERSION#v}"

# The providers are built from the release-tag source archives kept beside the repository
# (../shared/providers; its README gives their provenance): the Go module proxy does not
# serve them at these versions.
REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
PROVIDER_SOURCES="${DASHBOARD_PROVIDER_SOURCES:-$REPO_ROOT/../shared/providers}"
# Patches to a provider's source, applied before its build: <namespace>-<type>-<version>-*.patch,
# in name order, `patch -p1` in the unpacked archive. Each file's header says what it changes.
PATCHES="$REPO_ROOT/.ci/tools/patches"

APT_PACKAGES=(podman docker-registry apache2-utils postgresql)

# This machine's os_arch, as Terraform names platforms.
PLATFORM_OS=$(uname -s | tr '[:upper:]' '[:lower:]')
case $(uname -m) in
  x86_64 | amd64) PLATFORM_ARCH=amd64 ;;
  aarch64 | arm64) PLATFORM_ARCH=arm64 ;;
  *) PLATFORM_ARCH=$(uname -m) ;;
esac
PLATFORM="${PLATFORM_OS}_$PLATFORM_ARCH"

MIRROR="$CACHE/mirror"
STAMPS="$CACHE/stamps"
LOGS="$CACHE/logs"
# The plugin cache .ci/tools/env.sh gives Terraform (TF_PLUGIN_CACHE_DIR): it must exist.
PLUGIN_CACHE="$CACHE/plugin-cache"
[[ $PLAN -eq 1 ]] || mkdir -p "$CACHE/bin" "$MIRROR" "$STAMPS" "$LOGS" "$PLUGIN_CACHE"

# Go downloads and build cache live in the tools cache too; -modcacherw keeps
# the module cache deletable with a plain rm -rf.
export GOMODCACHE="$CACHE/go/mod"
export GOCACHE="$CACHE/go/build"
export GOFLAGS="${GOFLAGS:-} -modcacherw -buildvcs=false"
export GOTOOLCHAIN="${GOTOOLCHAIN:-local}"

START=$(date +%s)
log() { printf '[%5ss] %s\n' "$(($(date +%s) - START))" "$*"; }

FAILED=()
# run_step NAME FUNCTION [ARGS...]: runs FUNCTION in a subshell with errexit
# in force (bash ignores set -e inside a function called from an if).
run_step() {
  local name=$1 t0 rc
  shift
  t0=$(date +%s)
  log "$name ..."
  set +e
  (
    set -e # +e above is inherited: without this a failed command inside the step went unnoticed
    "$@"
  )
  rc=$?
  set -e
  if [[ $rc -eq 0 ]]; then
    log "$name: ok ($(($(date +%s) - t0))s)"
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
    sed -n "s/^[[:space:]]*\"$2\": \"\(.*\)\",\{0,1\}\$/\1/p" | sed -n 1p
}

# Copies a downloaded module to a writable build dir (module cache dirs are
# read-only and their go.mod may need edits).
writable_copy() {
  rm -rf "$2"
  mkdir -p "$(dirname "$2")"
  cp -R "$1" "$2"
  chmod -R u+w "$2"
}

# The first line of a text. Not "cmd | head -n 1": head closes the pipe early, and under
# pipefail the writer's SIGPIPE fails the pipeline at random.
first_line() { printf '%s\n' "${1%%$'\n'*}"; }

stamp_ok() { [[ -x $1 && -f $STAMPS/$2 && "$(cat "$STAMPS/$2")" == "$3" ]]; }

# Top released version in a CHANGELOG.md ("## 2.5.2 (...)" or "## [v3.6.2](...)").
changelog_version() {
  grep -m1 -oE '^## \[?v?[0-9]+\.[0-9]+\.[0-9]+' "$1/CHANGELOG.md" 2>/dev/null |
    grep -oE '[0-9]+\.[0-9]+\.[0-9]+'
}

# The Debian packages of APT_PACKAGES (and the build's gcc and patch) not installed, one a line.
apt_missing() {
  local p
  for p in "${APT_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || printf '%s\n' "$p"
  done
  command -v gcc >/dev/null || printf '%s\n' gcc libc6-dev # Nomad's build needs cgo
  command -v patch >/dev/null || printf '%s\n' patch        # the provider patches
  return 0
}

step_apt() {
  local missing=() sudo=()
  mapfile -t missing < <(apt_missing)
  if [[ ${#missing[@]} -eq 0 ]]; then
    echo "    all present: ${APT_PACKAGES[*]}"
    return 0
  fi
  if [[ $(id -u) -ne 0 ]]; then
    # sudo only when it needs no password: a prompt in the middle of the run is no way to ask.
    if ! command -v sudo >/dev/null || ! sudo -n true 2>/dev/null; then
      echo "missing Debian packages: ${missing[*]}; installing them needs root (run as root, or 'sudo -v' first)." >&2
      echo "A machine that only deploys to a real cluster needs none of them: npm run tools -- --production-only" >&2
      return 1
    fi
    sudo=(sudo -n)
  fi
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

# at_least MIN HAVE: HAVE is a version no older than MIN.
at_least() { [[ -n $2 && "$(printf '%s\n' "$1" "$2" | sort -V | sed -n 1p)" == "$1" ]]; }

# tool_on_path NAME MIN PREFIX: prints "<path> <version>" of NAME on PATH (the cache's bin first)
# when its `version` output's first line is PREFIX<version> with version >= MIN; "<path> <version>"
# and fails when older; fails silently when there is none.
tool_on_path() {
  local bin have
  bin=$(PATH="$CACHE/bin:$PATH" command -v "$1" || true)
  [[ -n $bin ]] || return 1
  have=$(TF_CLI_CONFIG_FILE=/dev/null "$bin" version 2>/dev/null | sed -n "1s/^$3\([0-9][0-9.]*\).*/\1/p" || true)
  printf '%s %s\n' "$bin" "${have:-unknown}"
  at_least "$2" "$have"
}

step_terraform() {
  local found
  if found=$(tool_on_path terraform "$TERRAFORM_MIN_VERSION" 'Terraform v'); then
    echo "    using ${found% *} (v${found##* })"
    return 0
  elif [[ -n $found ]]; then
    echo "    ${found% *} is v${found##* }, older than $TERRAFORM_MIN_VERSION: building v$TERRAFORM_BUILD_VERSION"
  fi
  local dir work="$CACHE/build/terraform"
  need_go "building Terraform" "put a terraform $TERRAFORM_MIN_VERSION or newer on PATH"
  echo "    building github.com/hashicorp/terraform@v$TERRAFORM_BUILD_VERSION (a few minutes)"
  dir=$(go_download "github.com/hashicorp/terraform@v$TERRAFORM_BUILD_VERSION")
  writable_copy "$dir" "$work"
  (cd "$work" && logged "$LOGS/terraform-build.log" env CGO_ENABLED=0 \
    go build -trimpath -ldflags "-s -w" -o "$CACHE/bin/terraform.tmp" .)
  mv "$CACHE/bin/terraform.tmp" "$CACHE/bin/terraform"
  rm -rf "$work"
  first_line "$(TF_CLI_CONFIG_FILE=/dev/null "$CACHE/bin/terraform" version)"
}

# need_go WHAT: fails naming what needs Go when there is none.
need_go() {
  command -v go >/dev/null && return 0
  echo "$1 needs Go (go is not on PATH): install Go${2:+, or $2}" >&2
  return 1
}

# With --production-only: the nomad CLI on PATH when it is new enough (npm run console needs one),
# as "<path> <version>"; empty when there is none, or without the switch.
if [[ $PRODUCTION_ONLY -eq 1 ]] && NOMAD_ON_PATH=$(tool_on_path nomad "$NOMAD_CLI_MIN_VERSION" 'Nomad v'); then
  :
else
  NOMAD_ON_PATH=""
fi

step_nomad() {
  local mv="github.com/hashicorp/nomad@v$NOMAD_VERSION" bin="$CACHE/bin/nomad"
  local stamp
  need_go "building Nomad" "put a nomad $NOMAD_CLI_MIN_VERSION or newer on PATH and run npm run tools -- --production-only"
  stamp="$mv $(go env GOVERSION)"
  if stamp_ok "$bin" nomad "$stamp"; then
    echo "    cached: $(first_line "$("$bin" version)")"
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
  local reported
  reported=$(first_line "$("$bin" version)")
  [[ $reported == "Nomad v$NOMAD_VERSION" ]] || {
    echo "built binary reports: $reported" >&2
    return 1
  }
  echo "$stamp" >"$STAMPS/nomad"
  echo "    $("$bin" version | tr '\n' ' ')"
}

# provider_patches NAMESPACE TYPE VERSION: the patch files for that provider, one a line, in order.
provider_patches() {
  local f
  for f in "$PATCHES/$1-$2-$3-"*.patch; do
    [[ -f $f ]] && printf '%s\n' "$f"
  done
  return 0
}

# step_provider NAMESPACE TYPE VERSION SHA256 LDFLAGS: builds a provider from its release-tag
# source archive in $PROVIDER_SOURCES (checked against the sha256 in config/tools.env), with its
# patches applied (their checksums are part of the stamp: a build without them is redone), into
# the filesystem mirror. hashicorp/nomad 2.5.2 requires github.com/hashicorp/nomad v1.11, which is
# neither open source nor served; it uses that module only for its HCL2 jobspec parser, never
# for `json = true` jobspecs, so it is pointed at the MPL Nomad we build (shared/providers/README.md).
step_provider() {
  local ns=$1 type=$2 version=$3 sha=$4 ldflags=$5
  local dest="$MIRROR/registry.terraform.io/$ns/$type/$version/$PLATFORM/terraform-provider-${type}_v$version"
  local archive="$PROVIDER_SOURCES/terraform-provider-$type-$version.tar.gz"
  local replace=""
  [[ $type != nomad ]] || replace="github.com/hashicorp/nomad=github.com/hashicorp/nomad@v$NOMAD_VERSION"
  local patches=() p patched=""
  mapfile -t patches < <(provider_patches "$ns" "$type" "$version")
  for p in "${patches[@]}"; do
    patched+=" patch:$(basename "$p")=$(sha256sum <"$p" | cut -d' ' -f1)"
  done
  need_go "building $ns/$type from source" "name an empty folder in DASHBOARD_PROVIDER_SOURCES to take the providers from the registry, unpatched"
  local stamp="$sha $replace $(go env GOVERSION) $ldflags$patched"
  if stamp_ok "$dest" "$ns-$type-$version" "$stamp"; then
    echo "    cached: $dest"
    return 0
  fi
  if [[ ! -f $archive ]]; then
    echo "no source archive for $ns/$type $version: expected $archive" >&2
    echo "    (the project's shared/providers beside the repository; DASHBOARD_PROVIDER_SOURCES names another folder)" >&2
    return 1
  fi
  local got
  got=$(sha256sum "$archive")
  got=${got%% *}
  if [[ $got != "$sha" ]]; then
    echo "$archive has sha256 $got; config/tools.env expects $sha" >&2
    return 1
  fi
  local work="$CACHE/build/provider-$type"
  rm -rf "$work"
  mkdir -p "$work" "$(dirname "$dest")"
  tar xzf "$archive" -C "$work" --strip-components=1
  local found
  found=$(changelog_version "$work" || true)
  if [[ $found != "$version" ]]; then
    echo "$archive is not $version: its CHANGELOG.md tops out at '${found:-nothing}'" >&2
    return 1
  fi
  if [[ ${#patches[@]} -gt 0 ]] && ! command -v patch >/dev/null; then
    echo "'patch' not found, needed for ${patches[*]#"$REPO_ROOT/"}: the apt step installs Debian's patch package (as root or with sudo)" >&2
    return 1
  fi
  for p in "${patches[@]}"; do
    echo "    applying ${p#"$REPO_ROOT/"}"
    logged "$LOGS/$type-patch.log" patch -p1 --forward --batch -d "$work" -i "$p"
  done
  if [[ -n $replace ]]; then
    echo "    go.mod: replace $replace (HCL2 parser only; unused for JSON jobspecs)"
    (cd "$work" && go mod edit -replace "$replace" &&
      logged "$LOGS/$type-tidy.log" go mod tidy)
  fi
  echo "    building $ns/$type $version from $(basename "$archive") (a few minutes cold)"
  # Their go.mod files carry replace directives: build inside the unpacked module.
  (cd "$work" && logged "$LOGS/$type-build.log" go build -trimpath \
    -ldflags "-s -w $ldflags" -o "$dest.tmp" .)
  mv "$dest.tmp" "$dest"
  rm -rf "$work"
  # Terraform would go on linking the build it cached before this one.
  rm -rf "$PLUGIN_CACHE/registry.terraform.io/$ns/$type/$version"
  # This checkout's stacks keep the build they were initialised with (.terraform/providers) and its
  # checksum (.terraform.lock.hcl), and Terraform goes on using that copy: drop both, so the next
  # init takes this build from the mirror and locks it. (Other checkouts: docs/tools.md.)
  local stack
  for stack in "$REPO_ROOT"/cdktf.out/stacks/*/; do
    [[ -d $stack.terraform/providers/registry.terraform.io/$ns/$type/$version ]] || continue
    rm -rf "$stack.terraform/providers/registry.terraform.io/$ns/$type/$version" "$stack.terraform.lock.hcl"
    echo "    ${stack#"$REPO_ROOT/"}: dropped its copy of the earlier build and its lock file"
  done
  echo "$stamp" >"$STAMPS/$ns-$type-$version"
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

# A configuration requiring both providers at their exact versions (config/tools.env).
providers_main_tf() {
  cat <<EOF
terraform {
  required_providers {
    nomad  = { source = "hashicorp/nomad", version = "$NOMAD_PROVIDER_VERSION" }
    docker = { source = "kreuzwerker/docker", version = "$DOCKER_PROVIDER_VERSION" }
  }
}
EOF
}

# The providers from the public Terraform registry, as released (no patches): `terraform providers
# mirror` into the mirror, run in a scratch configuration requiring both; the mirror's index files
# record the registry's checksums. The operator's CLI config is left out (it may be this cache's
# terraform.rc, which allows only the mirror).
step_registry_mirror() {
  local tmp tf rc=0
  tmp=$(mktemp -d)
  providers_main_tf >"$tmp/main.tf"
  tf=$(PATH="$CACHE/bin:$PATH" command -v terraform)
  echo "    $REGISTRY_MIRROR_COMMAND"
  (cd "$tmp" && logged "$LOGS/providers-mirror.log" env TF_CLI_CONFIG_FILE=/dev/null \
    TF_PLUGIN_CACHE_DIR= TF_IN_AUTOMATION=1 CHECKPOINT_DISABLE=1 \
    "$tf" providers mirror -platform="$PLATFORM" "$MIRROR") || rc=$?
  rm -rf "$tmp"
  return "$rc"
}

# Proves the mirror: terraform init of both providers at their exact versions,
# with the registry unreachable by configuration (only the mirror is allowed).
step_check_init() {
  local tmp tf rc=0
  tmp=$(mktemp -d)
  providers_main_tf >"$tmp/main.tf"
  tf=$(PATH="$CACHE/bin:$PATH" command -v terraform)
  (cd "$tmp" && logged "$LOGS/terraform-init.log" env TF_CLI_CONFIG_FILE="$CACHE/terraform.rc" \
    TF_PLUGIN_CACHE_DIR= TF_IN_AUTOMATION=1 "$tf" init -input=false -no-color) || rc=$?
  rm -rf "$tmp"
  [[ $rc -eq 0 ]] || return "$rc"
  grep -E '^- Installed|^- Using' "$LOGS/terraform-init.log" | sed 's/^/    /'
}

# copied_in NAMESPACE TYPE VERSION: the mirror holds that provider and this script did not build it
# (no stamp): an operator copied it in from a connected machine (docs/tools.md, "Air-gapped machines"),
# or an earlier run took it from the registry. It is used as it is.
copied_in() {
  [[ ! -f $STAMPS/$1-$2-$3 ]] &&
    { compgen -G "$MIRROR/registry.terraform.io/$1/$2/$3/$PLATFORM/terraform-provider-*" >/dev/null ||
      compgen -G "$MIRROR/registry.terraform.io/$1/$2/terraform-provider-$2_$3_$PLATFORM.zip" >/dev/null; }
}

# provider_step NAMESPACE TYPE VERSION SHA256 LDFLAGS: a provider this script built is rebuilt
# when its stamp changes; one an operator copied into the mirror from a connected machine
# (no stamp; docs/tools.md, "Air-gapped machines") is used as it is.
provider_step() {
  local name="provider $1/$2 $3"
  if copied_in "$1" "$2" "$3"; then
    log "$name: in the mirror (copied in, not built here)"
    local p patches=()
    mapfile -t patches < <(provider_patches "$1" "$2" "$3")
    for p in "${patches[@]}"; do
      log "    not applied to it: ${p#"$REPO_ROOT/"} (its header says what that leaves out)"
    done
    return 0
  fi
  run_step "$name" step_provider "$@"
}

# Where the providers come from: "source" when the source folder holds either archive (the other
# one, missing, fails its step naming the path), else "registry".
provider_archive() { printf '%s\n' "$PROVIDER_SOURCES/terraform-provider-$1-$2.tar.gz"; }
if [[ -f $(provider_archive nomad "$NOMAD_PROVIDER_VERSION") || -f $(provider_archive docker "$DOCKER_PROVIDER_VERSION") ]]; then
  PROVIDERS_FROM=source
else
  PROVIDERS_FROM=registry
fi
REGISTRY_MIRROR_COMMAND="terraform providers mirror -platform=$PLATFORM $MIRROR"

# What the registry's providers lack: the patches, each named, and what the docker one protects.
registry_unpatched_notice() {
  local p prefix=$1
  for p in "$PATCHES"/*.patch; do
    [[ -f $p ]] || continue
    echo "${prefix}NOT applied: ${p#"$REPO_ROOT/"} (the registry serves the providers as released)"
  done
  echo "${prefix}without it, kreuzwerker/docker $DOCKER_PROVIDER_VERSION drops the pushed image from state on any registry error: in a registry outage a deploy fails at a push, and the next one pushes the same digest again and re-runs the release step"
  echo "${prefix}for the patched build: the source archives in $PROVIDER_SOURCES (DASHBOARD_PROVIDER_SOURCES names another folder), then npm run tools again"
}

# --dry-run: each decision and the command it stands for, one a line on stdout; nothing changes.
print_plan() {
  local found missing=() p
  echo "tools cache: $CACHE"
  if [[ $PRODUCTION_ONLY -eq 1 ]]; then
    echo "apt: skipped (--production-only)"
  else
    mapfile -t missing < <(apt_missing)
    if [[ ${#missing[@]} -eq 0 ]]; then
      echo "apt: ${APT_PACKAGES[*]}: all present"
    elif [[ $(id -u) -eq 0 ]]; then
      echo "apt: ${APT_PACKAGES[*]}: apt-get install -y --no-install-recommends ${missing[*]}"
    else
      echo "apt: ${APT_PACKAGES[*]}: sudo -n apt-get install -y --no-install-recommends ${missing[*]} (fails without passwordless sudo: see --production-only)"
    fi
  fi
  if found=$(tool_on_path terraform "$TERRAFORM_MIN_VERSION" 'Terraform v'); then
    echo "terraform: use ${found% *} (v${found##* })"
  else
    echo "terraform: build github.com/hashicorp/terraform@v$TERRAFORM_BUILD_VERSION into $CACHE/bin/terraform"
  fi
  if [[ -n $NOMAD_ON_PATH ]]; then
    echo "nomad: use ${NOMAD_ON_PATH% *} (Nomad v${NOMAD_ON_PATH##* })"
  elif command -v go >/dev/null &&
    stamp_ok "$CACHE/bin/nomad" nomad "github.com/hashicorp/nomad@v$NOMAD_VERSION $(go env GOVERSION)"; then
    echo "nomad: cached $CACHE/bin/nomad (v$NOMAD_VERSION)"
  else
    echo "nomad: build github.com/hashicorp/nomad@v$NOMAD_VERSION into $CACHE/bin/nomad"
  fi
  if [[ $PROVIDERS_FROM == source ]]; then
    local spec ns type version
    for spec in "hashicorp nomad $NOMAD_PROVIDER_VERSION" "kreuzwerker docker $DOCKER_PROVIDER_VERSION"; do
      read -r ns type version <<<"$spec"
      if copied_in "$ns" "$type" "$version"; then
        echo "providers: $ns/$type $version: in the mirror (copied in, used as it is)"
        continue
      fi
      local patches=()
      mapfile -t patches < <(provider_patches "$ns" "$type" "$version")
      echo "providers: $ns/$type $version: build from $(provider_archive "$type" "$version")${patches[0]:+, applying ${patches[*]#"$REPO_ROOT/"}}"
    done
  else
    echo "providers: mirror from the registry: $REGISTRY_MIRROR_COMMAND"
    registry_unpatched_notice "providers: "
  fi
  echo "terraform.rc: write $CACHE/terraform.rc (providers from $MIRROR only)"
  echo "check: terraform init of both providers with that terraform.rc"
}

if [[ $PLAN -eq 1 ]]; then
  print_plan
  exit 0
fi

log "tools cache: $CACHE"
if [[ $PRODUCTION_ONLY -eq 1 ]]; then
  log "apt packages: skipped (--production-only: no local environment, no end-to-end tests)"
else
  run_step "apt packages (${APT_PACKAGES[*]})" step_apt
fi
run_step "terraform >= $TERRAFORM_MIN_VERSION" step_terraform
if [[ -n $NOMAD_ON_PATH ]]; then
  log "nomad: using ${NOMAD_ON_PATH% *} (Nomad v${NOMAD_ON_PATH##* }; --production-only)"
else
  run_step "nomad v$NOMAD_VERSION" step_nomad
fi
if [[ $PROVIDERS_FROM == source ]]; then
  log "providers: built from the source archives in $PROVIDER_SOURCES"
  provider_step hashicorp nomad "$NOMAD_PROVIDER_VERSION" "$NOMAD_PROVIDER_SOURCE_SHA256" ""
  # kreuzwerker's main.go has "var version" set by goreleaser; hashicorp/nomad's has none.
  provider_step kreuzwerker docker "$DOCKER_PROVIDER_VERSION" "$DOCKER_PROVIDER_SOURCE_SHA256" \
    "-X main.version=$DOCKER_PROVIDER_VERSION"
elif copied_in hashicorp nomad "$NOMAD_PROVIDER_VERSION" && copied_in kreuzwerker docker "$DOCKER_PROVIDER_VERSION"; then
  log "providers: no source archives in $PROVIDER_SOURCES; both already in the mirror (used as they are)"
  registry_unpatched_notice "    "
else
  log "providers: no source archives in $PROVIDER_SOURCES: from the public Terraform registry"
  run_step "providers from the registry" step_registry_mirror
  registry_unpatched_notice "    "
fi
run_step "terraform.rc" step_config
run_step "terraform init check (mirror only)" step_check_init

log "done in $(($(date +%s) - START))s"
cat <<EOF

To use the tools in a shell:
    DASHBOARD_TOOLS_DIR="$CACHE" source .ci/tools/env.sh
It puts $CACHE/bin first on PATH and sets TF_CLI_CONFIG_FILE=$CACHE/terraform.rc.
EOF
if [[ ${#FAILED[@]} -gt 0 ]]; then
  echo
  echo "FAILED steps:" >&2
  printf '  - %s\n' "${FAILED[@]}" >&2
  echo "Logs: $LOGS" >&2
  exit 1
fi
