#!/usr/bin/env bash
# The changes an incremental snapshot takes without loading the whole
# directory (docs/store-format.md §11), made from the generated trees
# (rewind-bench gen --seed 1 [--version 2] into /tmp/bSIZE-v1 and -v2):
# PREFIXSIZE-v1 is /tmp/bSIZE-v1 without its state file, PREFIXSIZE-v2 is
# that with the configuration files of /tmp/bSIZE-v2 written over it:
#   values  those whose blocks are the same ones (values changed only:
#           88 files at 10k, 908 at 100k);
#   all     all of them (version 2 also adds and removes resources in
#           some): the generator's whole change but its state.
#
#   bench/stateless-trees.sh SIZE values|all [PREFIX]   (PREFIX: /tmp/m)
#   TREES=PREFIX bench/snapshot-after-change.sh SIZE RUNS WORK BIN...
set -euo pipefail
size=$1 mode=$2 prefix=${3:-/tmp/m}
case "$mode" in values|all) ;; *) echo "mode: values or all" >&2; exit 2 ;; esac
src1=/tmp/b$size-v1 src2=/tmp/b$size-v2
[ -d "$src1" ] && [ -d "$src2" ] || { echo "no $src1 or $src2 (rewind-bench gen)" >&2; exit 1; }
rm -rf "$prefix$size-v1" "$prefix$size-v2"
cp -a "$src1" "$prefix$size-v1"
rm -f "$prefix$size-v1/terraform.tfstate"
cp -a "$prefix$size-v1" "$prefix$size-v2"
python3 - "$src1" "$src2" "$prefix$size-v2" "$mode" <<'PY'
import os, re, shutil, sys
v1, v2, out, mode = sys.argv[1:]
block = re.compile(r'^(resource|data|module|output|variable|locals|provider|terraform)\b.*$', re.M)
n = 0
for root, _, files in os.walk(v2):
    for f in files:
        if not f.endswith('.tf'):
            continue
        b = os.path.join(root, f)
        a = os.path.join(v1, os.path.relpath(b, v2))
        ta = open(a).read() if os.path.exists(a) else None
        tb = open(b).read()
        if ta == tb:
            continue
        if mode == 'all' or (ta is not None and block.findall(ta) == block.findall(tb)):
            dst = os.path.join(out, os.path.relpath(b, v2))
            os.makedirs(os.path.dirname(dst), exist_ok=True)
            shutil.copyfile(b, dst)
            n += 1
print(f"{n} configuration files of version 2 ({mode})")
PY
