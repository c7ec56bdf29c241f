#!/usr/bin/env bash
# Starts the local environment, on loopback only:
#   - a Nomad dev agent (raw_exec enabled) on $NOMAD_PORT_HTTP (rpc/serf +1/+2);
#   - Debian's docker-registry with htpasswd auth, plain HTTP, on $REGISTRY_PORT;
#   - podman serving the Docker API on a unix socket.
# State, logs and pids live in ${LOCAL_STATE_DIR:-<repo>/.local}. Writes
# $STATE/local.env (mode 0600) to be sourced by tests. Running it again while
# everything is up changes nothing. Stop with .ci/local/down.sh.
set -euo pipefail

# shellcheck source=common.sh
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"
# shellcheck source=../tools/env.sh
. "$LOCAL_DIR/../tools/env.sh" 2>/dev/null

REGISTRY_USER="${LOCAL_REGISTRY_USER:-dashboard}"
WAIT_SECONDS="${LOCAL_WAIT_SECONDS:-60}"
NOMAD_ADDR_LOCAL="http://127.0.0.1:$NOMAD_PORT_HTTP"
REGISTRY_ADDR="127.0.0.1:$REGISTRY_PORT"

fail() {
  echo "local:up: $*" >&2
  exit 1
}

for cmd in nomad docker-registry htpasswd podman curl; do
  command -v "$cmd" >/dev/null || fail "'$cmd' not found: run .ci/tools/install.sh (npm run tools) first"
done
mkdir -p "$STATE"
state_paths
mkdir -p "$PIDS" "$LOGS"
chmod 700 "$STATE"
# A unix socket path is limited to 107 bytes.
[[ ${#PODMAN_SOCK} -lt 100 ]] || fail "state dir path too long for a unix socket: $PODMAN_SOCK (set LOCAL_STATE_DIR)"
# Keeps the state dir out of git without touching the repo's .gitignore.
[[ -f $STATE/.gitignore ]] || echo '*' >"$STATE/.gitignore"

port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# start NAME CMD...: starts CMD detached, output to $LOGS/NAME.log, pid recorded.
start() {
  local name=$1
  shift
  # setsid: a Ctrl-C in the calling terminal must not reach the services.
  setsid "$@" >"$LOGS/$name.log" 2>&1 </dev/null &
  echo $! >"$PIDS/$name.pid"
}

# wait_for NAME PATTERN DESCRIPTION LAUNCH CHECK...: polls CHECK until it succeeds. A service
# that exits during start-up is launched once more (LAUNCH: the function that starts it), after
# its log's last lines; its first log is kept as NAME.first.log.
wait_for() {
  local name=$1 pattern=$2 what=$3 launch=$4 i again=1
  shift 4
  for ((i = 0; i < WAIT_SECONDS * 2; i++)); do
    if "$@" >/dev/null 2>&1; then return 0; fi
    if ! pid_of "$name" "$pattern" >/dev/null; then
      if ((again == 0)); then
        tail -n 20 "$LOGS/$name.log" | sed "s/^/  $name.log: /" >&2
        fail "$what exited during start-up, twice; log: $LOGS/$name.log (the first: $LOGS/$name.first.log)"
      fi
      again=0
      echo "$name: exited during start-up; its log's last lines, then a second start:" >&2
      tail -n 20 "$LOGS/$name.log" | sed "s/^/  $name.log: /" >&2
      mv "$LOGS/$name.log" "$LOGS/$name.first.log"
      sleep 1
      "$launch"
    fi
    sleep 0.5
  done
  fail "$what did not become ready in ${WAIT_SECONDS}s; log: $LOGS/$name.log"
}

# --- Nomad ------------------------------------------------------------------
NOMAD_CONF="$STATE/nomad/agent.hcl"
nomad_ready() {
  curl -fsS "$NOMAD_ADDR_LOCAL/v1/status/leader" | grep -q '"127.0.0.1:' &&
    curl -fsS "$NOMAD_ADDR_LOCAL/v1/nodes" | grep -q '"Status":"ready"'
}
launch_nomad() {
  start nomad nomad agent -dev -bind 127.0.0.1 -config "$NOMAD_CONF"
  echo "nomad: started (pid $(cat "$PIDS/nomad.pid")), log $LOGS/nomad.log"
}
if pid=$(pid_of nomad "$NOMAD_CONF"); then
  echo "nomad: already running (pid $pid)"
else
  for p in "$NOMAD_PORT_HTTP" "$NOMAD_PORT_RPC" "$NOMAD_PORT_SERF"; do
    port_busy "$p" && fail "nomad: port 127.0.0.1:$p is already in use (set NOMAD_PORT_HTTP)"
  done
  mkdir -p "$STATE/nomad/data"
  cat >"$NOMAD_CONF" <<EOF
data_dir             = "$STATE/nomad/data"
bind_addr            = "127.0.0.1"
disable_update_check = true

ports {
  http = $NOMAD_PORT_HTTP
  rpc  = $NOMAD_PORT_RPC
  serf = $NOMAD_PORT_SERF
}

plugin "raw_exec" {
  config {
    enabled = true
  }
}

# No Consul here: don't keep trying to register with one.
consul {
  auto_advertise   = false
  server_auto_join = false
  client_auto_join = false
}
EOF
  launch_nomad
fi
wait_for nomad "$NOMAD_CONF" "nomad (leader and a ready node at $NOMAD_ADDR_LOCAL)" launch_nomad nomad_ready

# --- registry ---------------------------------------------------------------
REG_DIR="$STATE/registry"
REG_CONF="$REG_DIR/config.yml"
mkdir -p "$REG_DIR/data"
if [[ -n ${LOCAL_REGISTRY_PASS:-} ]]; then
  REGISTRY_PASS=$LOCAL_REGISTRY_PASS
else
  if [[ ! -s $REG_DIR/password ]]; then
    (umask 077 && head -c 48 /dev/urandom | base64 | tr -dc 'A-Za-z0-9' | cut -c1-32 >"$REG_DIR/password")
  fi
  REGISTRY_PASS=$(cat "$REG_DIR/password")
fi
registry_ready() {
  # Credentials go through a curl config on stdin, not the command line.
  printf 'user = "%s:%s"\n' "$REGISTRY_USER" "$REGISTRY_PASS" |
    curl -fsS -K - "http://$REGISTRY_ADDR/v2/"
}
launch_registry() {
  start registry docker-registry serve "$REG_CONF"
  echo "registry: started (pid $(cat "$PIDS/registry.pid")), log $LOGS/registry.log"
}
if pid=$(pid_of registry "$REG_CONF"); then
  echo "registry: already running (pid $pid)"
else
  port_busy "$REGISTRY_PORT" && fail "registry: port $REGISTRY_ADDR is already in use (set REGISTRY_PORT)"
  (umask 077 && printf '%s\n' "$REGISTRY_PASS" | htpasswd -B -i -c "$REG_DIR/htpasswd" "$REGISTRY_USER" 2>/dev/null)
  [[ -s $REG_DIR/http-secret ]] || (umask 077 && head -c 32 /dev/urandom | base64 >"$REG_DIR/http-secret")
  (
    umask 077
    cat >"$REG_CONF" <<EOF
version: 0.1
log:
  level: info
  fields:
    service: registry
storage:
  cache:
    blobdescriptor: inmemory
  filesystem:
    rootdirectory: $REG_DIR/data
  delete:
    enabled: true
http:
  addr: $REGISTRY_ADDR
  secret: $(cat "$REG_DIR/http-secret")
  headers:
    X-Content-Type-Options: [nosniff]
auth:
  htpasswd:
    realm: local-registry
    path: $REG_DIR/htpasswd
EOF
  )
  launch_registry
fi
wait_for registry "$REG_CONF" "registry (authenticated GET http://$REGISTRY_ADDR/v2/)" launch_registry registry_ready

# --- podman (Docker API) ----------------------------------------------------
POD_DIR="$STATE/podman"
podman_ready() { curl -fsS --unix-socket "$PODMAN_SOCK" http://d/_ping | grep -q OK; }
launch_podman() {
  rm -f "$PODMAN_SOCK"
  # Own root/runroot/tmpdir: images stay under the state dir and nothing is
  # shared with a system podman.
  start podman env CONTAINERS_REGISTRIES_CONF="$POD_DIR/registries.conf" \
    podman --root "$POD_DIR/root" --runroot "$POD_DIR/run" --tmpdir "$POD_DIR/tmp" \
    --log-level info system service --time=0 "unix://$PODMAN_SOCK"
  echo "podman: started (pid $(cat "$PIDS/podman.pid")), log $LOGS/podman.log"
}
if pid=$(pid_of podman "$PODMAN_SOCK"); then
  echo "podman: already running (pid $pid)"
else
  mkdir -p "$POD_DIR/root" "$POD_DIR/run" "$POD_DIR/tmp"
  # Plain HTTP to the local registry: mark it insecure for podman's pushes.
  cat >"$POD_DIR/registries.conf" <<EOF
unqualified-search-registries = ["docker.io"]

[[registry]]
location = "$REGISTRY_ADDR"
insecure = true
EOF
  launch_podman
fi
wait_for podman "$PODMAN_SOCK" "podman (Docker API on unix://$PODMAN_SOCK)" launch_podman podman_ready

# --- local.env ----------------------------------------------------------------
(
  umask 077
  {
    echo "# Written by .ci/local/up.sh: source it to deploy to the local environment."
    echo "# The tools (npm run tools) first on PATH, Terraform reading their offline mirror:"
    printf 'export DASHBOARD_TOOLS_DIR=%q\n' "$DASHBOARD_TOOLS_DIR"
    printf '. %q\n' "$REPO_ROOT/.ci/tools/env.sh"
    echo "export CHECKPOINT_DISABLE=1"
    echo "# Where the local stack deploys (config/local.ts reads LOCAL_*; nomad and curl read NOMAD_ADDR):"
    printf 'export NOMAD_ADDR=%q\n' "$NOMAD_ADDR_LOCAL"
    printf 'export LOCAL_NOMAD_ADDR=%q\n' "$NOMAD_ADDR_LOCAL"
    printf 'export LOCAL_REGISTRY_ADDRESS=%q\n' "$REGISTRY_ADDR"
    printf 'export DOCKER_HOST=%q\n' "unix://$PODMAN_SOCK"
    echo "# The push (docker provider) and the pull (stored in the Nomad Variable nomad/jobs/rails):"
    printf 'export DOCKER_REGISTRY_USER=%q\n' "$REGISTRY_USER"
    printf 'export DOCKER_REGISTRY_PASS=%q\n' "$REGISTRY_PASS"
    printf 'export TF_VAR_registry_pull_username=%q\n' "$REGISTRY_USER"
    printf 'export TF_VAR_registry_pull_password=%q\n' "$REGISTRY_PASS"
  } >"$STATE/local.env.tmp"
)
mv "$STATE/local.env.tmp" "$STATE/local.env"

cat <<EOF
local environment is up:
  nomad     $NOMAD_ADDR_LOCAL
  registry  http://$REGISTRY_ADDR (user $REGISTRY_USER; password in ${LOCAL_REGISTRY_PASS:+LOCAL_REGISTRY_PASS and }$STATE/local.env)
  docker    unix://$PODMAN_SOCK (podman)
To deploy to it, in this shell: source $STATE/local.env
(the tools on PATH, these addresses, and the push and pull credentials), then: npm run deploy -- local
EOF
