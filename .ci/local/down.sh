#!/usr/bin/env bash
# Stops what .ci/local/up.sh started (by recorded pid). With --purge, also
# deletes the state dir (${LOCAL_STATE_DIR:-<repo>/.local}): registry data,
# podman images, Nomad data, the generated registry password; and the local
# stack's Terraform state (terraform.local.tfstate and its backup, in
# ${DASHBOARD_STATE_DIR:-<repo>}), which holds the local secrets and describes a
# job the stopped dev agent no longer has. With LOCAL_STATE_DIR set (another
# local environment, as the tests start) that state is not this environment's:
# it is kept unless DASHBOARD_STATE_DIR names it too.
set -euo pipefail

# shellcheck source=common.sh
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"

PURGE=0
case "${1:-}" in
  "") ;;
  --purge) PURGE=1 ;;
  *)
    echo "usage: $0 [--purge]" >&2
    exit 2
    ;;
esac

# stop NAME PATTERN: TERM, then KILL after 20s.
stop() {
  local name=$1 pid i
  if ! pid=$(pid_of "$name" "$2"); then
    echo "$name: not running"
    rm -f "$PIDS/$name.pid"
    return 0
  fi
  kill -TERM "$pid"
  for ((i = 0; i < 40; i++)); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.5
  done
  if kill -0 "$pid" 2>/dev/null; then
    echo "$name: still running after 20s, sending KILL"
    kill -KILL "$pid" 2>/dev/null || true
  fi
  rm -f "$PIDS/$name.pid"
  echo "$name: stopped (pid $pid)"
}

stop podman "$PODMAN_SOCK"
stop registry "$STATE/registry/config.yml"
stop nomad "$STATE/nomad/agent.hcl"
rm -f "$PODMAN_SOCK"

if [[ $PURGE -eq 1 && -d $STATE ]]; then
  # Podman's overlay driver and Nomad's client leave mounts under the state
  # dir; unmount them (deepest first) or rm -rf fails with "busy".
  if command -v findmnt >/dev/null; then
    findmnt -rn -o TARGET | awk -v s="$STATE/" 'index($0, s) == 1' | sort -r |
      while read -r m; do umount "$m" 2>/dev/null || umount -l "$m" || true; done
  fi
  rm -rf "$STATE"
  echo "purged $STATE"
fi
if [[ $PURGE -eq 1 && ( -z ${LOCAL_STATE_DIR:-} || -n ${DASHBOARD_STATE_DIR:-} ) ]]; then
  tfstate_dir="${DASHBOARD_STATE_DIR:-$REPO_ROOT}"
  [[ $tfstate_dir == /* ]] || tfstate_dir="$REPO_ROOT/$tfstate_dir"
  for f in "$tfstate_dir"/terraform.local.tfstate "$tfstate_dir"/terraform.local.tfstate.backup "$tfstate_dir"/terraform.local.tfstate.*.backup "$tfstate_dir"/.terraform.local.tfstate.lock.info; do
    [[ -e $f ]] || continue
    rm -f "$f"
    echo "purged $f"
  done
fi
