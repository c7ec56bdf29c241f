#!/usr/bin/env bash
# The fastest deploy of one stack: synth (cdktf.json's app, compiled JavaScript), then
# `terraform apply` in the stack's directory. It applies the configuration `cdktf deploy` applies,
# with the same plan and approval, without starting cdktf's CLI (about 3 s of a no-op deploy).
#
#   commands/apply.sh <stack> [terraform apply options, e.g. -auto-approve]
#
# Runs `terraform init` only when the stack's directory has never been initialized; after a
# provider version change, pass --init first. Source .ci/tools/env.sh first on a machine that
# reads providers from the offline mirror (as for cdktf).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
init=0
if [[ ${1:-} == --init ]]; then
  init=1
  shift
fi
stack=${1:-}
if [[ -z $stack || $stack == -* ]]; then
  echo "usage: commands/apply.sh [--init] <stack> [terraform apply options]" >&2
  exit 2
fi
shift
# State holds secrets: the files Terraform creates are the owner's alone.
umask 077
export CHECKPOINT_DISABLE=1
out="$PWD/cdktf.out"
CDKTF_OUTDIR="$out" node .ci/synth-app.cjs
dir="$out/stacks/$stack"
if [[ ! -f $dir/cdk.tf.json ]]; then
  echo "commands/apply.sh: no stack '$stack'; synth wrote: $(ls "$out/stacks" | tr '\n' ' ')" >&2
  exit 2
fi
terraform=${TERRAFORM_BINARY_NAME:-terraform}
if [[ $init -eq 1 || ! -d $dir/.terraform ]]; then
  "$terraform" -chdir="$dir" init -input=false >/dev/null
fi
exec "$terraform" -chdir="$dir" apply -input=false "$@"
