#!/usr/bin/env bash
# The fastest deploy of one stack: synth (cdktf.json's app, compiled JavaScript), then what
# `cdktf deploy` runs without starting cdktf's CLI (about 3 s of a no-op deploy): `terraform plan`
# to a file and, when it has changes and they are approved, `terraform apply` of that file.
#
#   commands/apply.sh [--init] <stack> [--auto-approve]
#
# Runs `terraform init` only when the stack's directory has never been initialized; after a
# provider version change, pass --init. Source .ci/tools/env.sh first on a machine that reads
# providers from the offline mirror (as for cdktf). Exit status: 0 applied or nothing to do,
# 1 error, 3 changes not approved.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
usage() {
  echo "usage: commands/apply.sh [--init] <stack> [--auto-approve]" >&2
  exit 1
}
init=0 approve=0 stack=""
for arg in "$@"; do
  case $arg in
    --init) init=1 ;;
    --auto-approve | -auto-approve) approve=1 ;;
    -*) usage ;;
    *) [[ -z $stack ]] || usage; stack=$arg ;;
  esac
done
[[ -n $stack ]] || usage
# State holds secrets: the files Terraform creates are the owner's alone.
umask 077
export CHECKPOINT_DISABLE=1
out="$PWD/cdktf.out"
CDKTF_OUTDIR="$out" node .ci/synth-app.cjs
dir="$out/stacks/$stack"
if [[ ! -f $dir/cdk.tf.json ]]; then
  echo "commands/apply.sh: no stack '$stack'; synth wrote: $(ls "$out/stacks" | tr '\n' ' ')" >&2
  exit 1
fi
terraform=${TERRAFORM_BINARY_NAME:-terraform}
if [[ $init -eq 1 || ! -d $dir/.terraform ]]; then
  "$terraform" -chdir="$dir" init -input=false >/dev/null
fi
rc=0
"$terraform" -chdir="$dir" plan -input=false -detailed-exitcode -out=plan || rc=$?
case $rc in
  0) exit 0 ;;
  2) ;;
  *) exit 1 ;;
esac
if [[ $approve -eq 0 ]]; then
  read -r -p "Apply this plan to '$stack'? Only 'yes' will be accepted: " answer || true
  [[ $answer == yes ]] || { echo "Not applied."; exit 3; }
fi
exec "$terraform" -chdir="$dir" apply -input=false plan
