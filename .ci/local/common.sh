# shellcheck shell=bash
# shellcheck disable=SC2034 # variables are used by the scripts that source this
# Shared settings and helpers for .ci/local/up.sh and down.sh (sourced).

LOCAL_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$LOCAL_DIR/../.." && pwd)"

# Default ports, state directory and socket name: config/tools.env (the local stack's config
# reads them too).
# shellcheck source=../tools/tools-env.sh
. "$LOCAL_DIR/../tools/tools-env.sh"

# Same as ${LOCAL_STATE_DIR:-$PWD/.local} under "npm run", but independent of
# the caller's working directory, so up and down always agree.
STATE="${LOCAL_STATE_DIR:-$REPO_ROOT/$LOCAL_STATE_DIRNAME}"
NOMAD_PORT_HTTP="${NOMAD_PORT_HTTP:-$LOCAL_NOMAD_PORT_HTTP}"
NOMAD_PORT_RPC=$((NOMAD_PORT_HTTP + 1))
NOMAD_PORT_SERF=$((NOMAD_PORT_HTTP + 2))
REGISTRY_PORT="${REGISTRY_PORT:-$LOCAL_REGISTRY_PORT}"

# state_paths: canonical state dir (pid checks match on paths) and paths in it.
state_paths() {
  if [[ -d $STATE ]]; then STATE="$(cd "$STATE" && pwd -P)"; fi
  PIDS="$STATE/pids"
  LOGS="$STATE/logs"
  PODMAN_SOCK="$STATE/$LOCAL_DOCKER_SOCKET"
}
state_paths

# pid_of NAME: prints the recorded pid if that process is still the one we
# started (guards against a recycled pid), else fails.
pid_of() {
  local pid
  pid=$(cat "$PIDS/$1.pid" 2>/dev/null) || return 1
  [[ $pid =~ ^[0-9]+$ ]] || return 1
  kill -0 "$pid" 2>/dev/null || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "$2" || return 1
  echo "$pid"
}
