# shellcheck shell=bash
# Source this file (". .ci/tools/env.sh") to use the tools that
# .ci/tools/install.sh put in ${DASHBOARD_TOOLS_DIR:-$HOME/.cache/dashboard-deploy-tools}:
# their bin/ goes first on PATH and Terraform reads the generated CLI config
# (providers from the local filesystem mirror only, whether install.sh built them from source or
# mirrored them from the registry). With --production-only there may be no nomad in that bin/:
# the one already on PATH is used.
# No "set -euo pipefail" here: a sourced file would change the caller's shell.
DASHBOARD_TOOLS_DIR="${DASHBOARD_TOOLS_DIR:-$HOME/.cache/dashboard-deploy-tools}"
if [ -d "$DASHBOARD_TOOLS_DIR" ]; then
  DASHBOARD_TOOLS_DIR="$(cd "$DASHBOARD_TOOLS_DIR" && pwd -P)"
  [ -f "$DASHBOARD_TOOLS_DIR/terraform.rc" ] ||
    echo "warning: $DASHBOARD_TOOLS_DIR has no terraform.rc yet (Terraform would find no providers): run npm run tools" >&2
else
  echo "warning: $DASHBOARD_TOOLS_DIR does not exist yet: run npm run tools" >&2
fi
export DASHBOARD_TOOLS_DIR
case ":$PATH:" in
  *":$DASHBOARD_TOOLS_DIR/bin:"*) ;;
  *) export PATH="$DASHBOARD_TOOLS_DIR/bin:$PATH" ;;
esac
export TF_CLI_CONFIG_FILE="$DASHBOARD_TOOLS_DIR/terraform.rc"
# Terraform's plugin cache, one per tools directory. cdktf otherwise sets ~/.terraform.d/plugin-cache,
# which every tools directory of this user shares and which is keyed on the version only: a provider
# built with other patches, or by another Go, at the same version would be taken from there.
# install.sh empties a provider's entry here when it rebuilds it.
export TF_PLUGIN_CACHE_DIR="$DASHBOARD_TOOLS_DIR/plugin-cache"
# Where this file is: bash names it in BASH_SOURCE, zsh in %x (each read through eval, which
# other shells never parse); a plain sh cannot say, so there it is read from the project root.
if [ -n "${BASH_VERSION:-}" ]; then
  eval '_dashboard_tools_here="$(dirname "${BASH_SOURCE[0]}")"'
elif [ -n "${ZSH_VERSION:-}" ]; then
  eval '_dashboard_tools_here="$(dirname "${(%):-%x}")"'
else
  _dashboard_tools_here=.ci/tools
fi
# cdktf runs `terraform providers lock` against the registry after init; this wrapper makes that
# lock read the mirror instead (see the script). Unset it to lock against the registry.
if [ -x "$_dashboard_tools_here/terraform-with-mirror" ]; then
  export TERRAFORM_BINARY_NAME="$(cd "$_dashboard_tools_here" && pwd)/terraform-with-mirror"
else
  echo "warning: cannot tell where .ci/tools/env.sh is (source it from bash or zsh, or from the project root): TERRAFORM_BINARY_NAME not set" >&2
fi
unset _dashboard_tools_here
# cdktf and Terraform ask HashiCorp's checkpoint service for updates; offline that prints errors.
export CHECKPOINT_DISABLE=1
