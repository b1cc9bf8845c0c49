#!/usr/bin/env bash
# Regenerate the Terraform graph oracle fixtures.
#
# For every fixtures/oracle/graph/NN-name/config/ directory this copies the
# configuration to a scratch directory, runs `terraform init` (offline: the
# configs use only the built-in terraform_data resource and local modules) and
# writes, next to config/:
#   graph.dot       `terraform graph`             (simplified resource graph)
#   graph-plan.dot  `terraform graph -type=plan`  (full operation graph)
#
# Usage: scripts/record-graph-oracle.sh [FIXTURE_DIR...]
#   default: every directory under fixtures/oracle/graph/
# Env: TERRAFORM (default: terraform). Needs Terraform 1.11.x.
#
# Idempotent and deterministic: Terraform 1.11 prints nodes and edges sorted,
# the script additionally sorts each block of edge lines so the output never
# depends on map iteration order.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
tf="${TERRAFORM:-terraform}"

export TF_IN_AUTOMATION=1
export TF_INPUT=0
export TF_CLI_ARGS_init="-input=false"
export CHECKPOINT_DISABLE=1
# No CLI config (no provider installation methods, no credentials, no network).
export TF_CLI_CONFIG_FILE=/dev/null
unset TF_PLUGIN_CACHE_DIR TF_LOG || true

version="$("$tf" version -json | python3 -c 'import json,sys; print(json.load(sys.stdin)["terraform_version"])')"
case "$version" in
  1.11.*) ;;
  *) echo "warning: fixtures were recorded with Terraform 1.11.4, this is $version" >&2 ;;
esac

if [ "$#" -gt 0 ]; then
  dirs=("$@")
else
  dirs=()
  for d in "$root"/fixtures/oracle/graph/*/; do dirs+=("${d%/}"); done
fi

# Sort runs of edge lines (lines containing " -> ") in place, keep everything
# else where it is.
sort_edges() {
  python3 -c '
import sys
lines = sys.stdin.read().split("\n")
out, run = [], []
for line in lines:
    if " -> " in line:
        run.append(line)
        continue
    out.extend(sorted(run)); run = []
    out.append(line)
out.extend(sorted(run))
sys.stdout.write("\n".join(out))
'
}

scratch="$(mktemp -d /tmp/rewind-graph-oracle.XXXXXX)"
trap 'rm -rf "$scratch"' EXIT

for dir in "${dirs[@]}"; do
  name="$(basename "$dir")"
  if [ ! -d "$dir/config" ]; then
    echo "skip $name: no config/" >&2
    continue
  fi
  work="$scratch/$name"
  rm -rf "$work"
  cp -r "$dir/config" "$work"
  (
    cd "$work"
    "$tf" init -backend=false >init.log 2>&1 || { cat init.log >&2; exit 1; }
    "$tf" graph | sort_edges >graph.dot
    "$tf" graph -type=plan | sort_edges >graph-plan.dot
  )
  cp "$work/graph.dot" "$dir/graph.dot"
  cp "$work/graph-plan.dot" "$dir/graph-plan.dot"
  echo "recorded $name"
done
