#!/usr/bin/env bash
# Trees for the snapshot after a change of references (issue 17 part 2,
# docs/store-format.md §11 "relinked" blocks), made from a generated tree
# (rewind-bench gen --seed 1 into /tmp/bSIZE-v1, or bench/stateless-trees.sh's
# /tmp/nSIZE-v1 without its state): PREFIXSIZE-v1 is a copy of it,
# PREFIXSIZE-v2 that copy with, in FILES module files, one resource each
# given a new attribute reading a resource of its module:
#   back     one written five blocks before it (ranked below it: the
#            incremental snapshot takes it);
#   forward  one written three blocks after it (may close a cycle: loaded
#            whole, which refuses the cycles it does close).
#
#   bench/relinked-trees.sh SRC FILES back|forward PREFIX
#   TREES=PREFIX bench/snapshot-after-change.sh SIZE RUNS WORK BIN...
set -euo pipefail
src=$1 files=$2 mode=$3 prefix=$4
case "$mode" in back|forward) ;; *) echo "mode: back or forward" >&2; exit 2 ;; esac
size=$(basename "$src" | sed -E 's/^[a-z]+([0-9]+k)-v1$/\1/')
rm -rf "$prefix$size-v1" "$prefix$size-v2"
cp -a "$src" "$prefix$size-v1"
cp -a "$src" "$prefix$size-v2"
python3 - "$prefix$size-v2" "$files" "$mode" <<'PY'
import os, re, sys, random
dst, n, mode = sys.argv[1], int(sys.argv[2]), sys.argv[3]
rx = re.compile(r'^resource "([a-z0-9_]+)" "([a-z0-9_]+)" \{$', re.M)
mods = sorted(os.listdir(os.path.join(dst, 'modules')))
random.seed(7)
done = 0
for m in random.sample(mods, len(mods)):
    if done >= n:
        break
    d = os.path.join(dst, 'modules', m)
    blocks = []
    for f in sorted(f for f in os.listdir(d) if re.match(r'r\d+\.tf$', f)):
        for mm in rx.finditer(open(os.path.join(d, f)).read()):
            blocks.append((f, mm.group(1), mm.group(2), mm.end()))
    if len(blocks) < 10:
        continue
    i = len(blocks) // 2
    f, _, _, end = blocks[i]
    _, tt, tn, _ = blocks[i + 3] if mode == 'forward' else blocks[i - 5]
    p = os.path.join(d, f)
    t = open(p).read()
    open(p, 'w').write(t[:end] + f'\n  description_ref = {tt}.{tn}.id' + t[end:])
    done += 1
print(f"{done} module files relinked ({mode})")
PY
