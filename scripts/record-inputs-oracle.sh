#!/usr/bin/env bash
# Records what Terraform (1.11, offline, terraform_data only) makes of the
# fixtures in fixtures/inputs, as state files rewind's tests compare with:
#
#   pipeline/v1.tfstate, v2.tfstate, v3.tfstate: each release applied in
#     turn with -var-file=prod.tfvars (the S3 backend block removed: the
#     state is what `terraform state pull` would print);
#   precedence.tfstate: precedence/ applied in workspace "staging" with
#     TF_VAR_ values, its own variable files, and -var-file / -var
#     arguments interleaved (the exact invocation is below and in
#     tests/e2e/inputs.rs).
#
# Usage: scripts/record-inputs-oracle.sh [OUT]   (default: fixtures/inputs)
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
src="$here/fixtures/inputs"
out="$(mkdir -p "${1:-$src}" && cd "${1:-$src}" && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
export TF_CLI_CONFIG_FILE=/dev/null TF_IN_AUTOMATION=1 CHECKPOINT_DISABLE=1

# the pipeline, release after release, one state
mkdir -p "$work/pipeline"
for v in v1 v2 v3; do
  # the release's files replace the last one's; the state stays
  find "$work/pipeline" -maxdepth 1 -type f ! -name 'terraform.tfstate*' ! -name '.terraform.lock.hcl' -delete
  cp "$src/pipeline/$v"/* "$work/pipeline/"
  rm "$work/pipeline/backend.tf"
  (cd "$work/pipeline" && terraform init -input=false >/dev/null &&
    terraform apply -input=false -auto-approve -var-file=prod.tfvars >/dev/null)
  cp "$work/pipeline/terraform.tfstate" "$out/pipeline-$v.tfstate"
done

# variable precedence and the workspace
cp -r "$src/precedence" "$work/precedence"
cp -r "$src/vars" "$work/vars"
(
  cd "$work/precedence"
  terraform init -input=false >/dev/null
  terraform workspace new staging >/dev/null
  TF_VAR_a=env TF_VAR_e=env TF_VAR_n=2 TF_VAR_l='["x", "y"]' TF_VAR_s='"quoted"' \
    terraform apply -input=false -auto-approve \
    -var-file=../vars/first.tfvars -var g=cli -var-file=../vars/last.tfvars.json -var f=cli >/dev/null
)
cp "$work/precedence/terraform.tfstate.d/staging/terraform.tfstate" "$out/precedence.tfstate"
echo "recorded in $out"
