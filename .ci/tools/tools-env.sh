# shellcheck shell=bash
# Sourced by the scripts in .ci/: sets every KEY=VALUE of config/tools.env (versions,
# checksums, ports) that the environment does not already set. config/tools.ts reads the
# same file, so each of those facts is written once.
__tools_env_file="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)/config/tools.env"
while IFS='=' read -r __key __value || [[ -n $__key ]]; do
  [[ $__key =~ ^[A-Z][A-Z0-9_]*$ ]] || continue
  [[ -n ${!__key:-} ]] || printf -v "$__key" '%s' "$__value"
done <"$__tools_env_file"
unset __key __value __tools_env_file
