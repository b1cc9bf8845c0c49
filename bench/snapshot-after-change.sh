#!/usr/bin/env bash
# Issue 17 part 2, side by side: the snapshot after a 1% change against
# `git add -A && git commit` of the same change. For each run and each
# binary given: a fresh store, a snapshot of a copy of version 1, the files
# of version 2 that differ written over the copy (changed files rewritten,
# removed ones deleted, the others left alone so their stats vouch for
# them), then the measured `rewind snapshot`; git the same way (a fresh
# repository, version 1 committed). Prints wall, user and system seconds
# and peak memory (KB) of the measured command, binaries interleaved run
# by run (on a shared machine compare user + system, not wall time).
#
#   bench/snapshot-after-change.sh SIZE RUNS WORK BIN...
#       SIZE: 1k, 10k or 100k (the trees /tmp/bSIZE-v1 and -v2, from
#             rewind-bench gen --seed 1 [--version 2]; with TREES=PREFIX,
#             PREFIXSIZE-v1 and -v2, for example those of
#             bench/stateless-trees.sh SIZE values); WORK: a scratch directory
#             (removed and made again); BIN: rewind binaries.
#
# With MEASURE set, the measured command runs under it instead of GNU time
# (for example MEASURE="valgrind --tool=callgrind --callgrind-out-file=X").
set -euo pipefail
size=$1 runs=$2 work=$3
shift 3
v1=${TREES:-/tmp/b}$size-v1 v2=${TREES:-/tmp/b}$size-v2
[ -d "$v1" ] && [ -d "$v2" ] || { echo "no $v1 or $v2 (rewind-bench gen)" >&2; exit 1; }
# sync FROM TO: make TO hold FROM's files, writing only those that differ
sync_tree() {
  python3 - "$1" "$2" <<'PY'
import os, shutil, sys
src, dst = sys.argv[1], sys.argv[2]
want = set()
for root, _, files in os.walk(src):
    for f in files:
        s = os.path.join(root, f); rel = os.path.relpath(s, src); want.add(rel)
        d = os.path.join(dst, rel)
        if not os.path.exists(d) or open(s, 'rb').read() != open(d, 'rb').read():
            os.makedirs(os.path.dirname(d), exist_ok=True); shutil.copyfile(s, d)
for root, dirs, files in os.walk(dst):
    dirs[:] = [x for x in dirs if x not in ('.git', '.rewind')]
    for f in files:
        p = os.path.join(root, f)
        if os.path.relpath(p, dst) not in want: os.remove(p)
PY
}
fmt="%e s wall, %U user, %S sys, %M KB"
rm -rf "$work"; mkdir -p "$work"
echo "snapshot after a 1% change, $size, $runs runs; load average $(cut -d' ' -f1-3 /proc/loadavg)"
for run in $(seq "$runs"); do
  for bin in "$@"; do
    w=$work/rewind; rm -rf "$w"; mkdir -p "$w"
    (cd "$w" && sync_tree "$v1" tree && "$bin" init -q >/dev/null && "$bin" snapshot -q tree >/dev/null && sync_tree "$v2" tree)
    if [ -n "${MEASURE:-}" ]; then
      (cd "$w" && $MEASURE "$bin" snapshot -q tree >/dev/null)
      echo "run $run $bin: done under $MEASURE"
    else
      t=$(cd "$w" && /usr/bin/time -f "$fmt" "$bin" snapshot -q tree 2>&1 >/dev/null | tail -1)
      echo "run $run $bin: $t"
    fi
  done
  g=$work/git; rm -rf "$g"; mkdir -p "$g"
  (cd "$g" && git init -q && git config user.email b@e && git config user.name bench && git config gc.auto 0 \
     && sync_tree "$v1" tree && git add -A && git commit -qm v1 && sync_tree "$v2" tree)
  t=$(cd "$g" && /usr/bin/time -f "$fmt" sh -c 'git add -A && git commit -qm v2' 2>&1 | tail -1)
  echo "run $run git: $t"
done
