#!/usr/bin/env bash
# The change an incremental snapshot takes without loading the whole
# directory (docs/store-format.md §11), made from the generated trees:
# PREFIXSIZE-v1 is /tmp/bSIZE-v1 without its state file, PREFIXSIZE-v2 is
# that with the files of /tmp/bSIZE-v2 whose blocks are the same ones
# (values changed only: 88 files at 10k, 908 at 100k); the files where
# version 2 adds or removes a resource are left as in version 1.
#
#   bench/values-only-trees.sh SIZE [PREFIX]    (PREFIX: /tmp/m)
#   TREES=/tmp/m bench/snapshot-after-change.sh SIZE RUNS WORK BIN...
set -euo pipefail
size=$1 prefix=${2:-/tmp/m}
src1=/tmp/b$size-v1 src2=/tmp/b$size-v2
[ -d "$src1" ] && [ -d "$src2" ] || { echo "no $src1 or $src2 (rewind-bench gen)" >&2; exit 1; }
rm -rf "$prefix$size-v1" "$prefix$size-v2"
cp -a "$src1" "$prefix$size-v1"
rm -f "$prefix$size-v1/terraform.tfstate"
cp -a "$prefix$size-v1" "$prefix$size-v2"
python3 - "$src1" "$src2" "$prefix$size-v2" <<'PY'
import os, re, shutil, sys
v1, v2, out = sys.argv[1:]
block = re.compile(r'^(resource|data|module|output|variable|locals|provider|terraform)\b.*$', re.M)
n = 0
for root, _, files in os.walk(v2):
    for f in files:
        if not f.endswith('.tf'):
            continue
        b = os.path.join(root, f)
        a = os.path.join(v1, os.path.relpath(b, v2))
        if not os.path.exists(a):
            continue
        ta, tb = open(a).read(), open(b).read()
        if ta != tb and block.findall(ta) == block.findall(tb):
            shutil.copyfile(b, os.path.join(out, os.path.relpath(b, v2)))
            n += 1
print(f"{n} files with values changed only")
PY
