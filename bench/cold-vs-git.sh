#!/usr/bin/env bash
# Issue 17 part 3, side by side: a cold `rewind snapshot` (a fresh store)
# against `git add -A && git commit` in a fresh repository, of the same
# generated tree, both on a RAM file system (tmpfs). For each run: each
# rewind binary given, then git, each on its own copy of the tree. Prints
# wall, user and system seconds and peak memory (GNU time's %M, in KiB,
# and in MiB and MB: 600 MB is 572 MiB).
#
#   bench/cold-vs-git.sh SIZE RUNS BIN...
#       SIZE: 1k, 10k or 100k (the tree /tmp/bSIZE-v1, from rewind-bench
#             gen --seed 1; TREES=PREFIX reads PREFIXSIZE-v1 instead);
#       BIN: rewind binaries. WORK (default /dev/shm/rewind-cold, removed
#       and made again) must be on a tmpfs unless you mean to measure the
#       disk's file system.
#
# Why a tmpfs: git writes one file per object (13,000 at 100k) and its
# time on ext4 measures the file system's history more than git. On this
# machine's ext4, git's cold commit of the 100k tree took 2.7 s on a file
# system that had never held the tree, then 6-10 s once earlier copies
# had been deleted (`perf record`: the kernel's inode allocator,
# `find_inode_bit` and `recently_deleted`, over half the samples), while
# rewind writes a few packs and is not affected. On a tmpfs git takes
# 2.2-2.5 s every time (bench/results/2026-12-02-session32.md).
set -euo pipefail
size=$1 runs=$2
shift 2
tree=${TREES:-/tmp/b}$size-v1
[ -d "$tree" ] || { echo "no $tree (rewind-bench gen --seed 1)" >&2; exit 1; }
[ -x /usr/bin/time ] || { echo "needs GNU time (/usr/bin/time; Debian package time)" >&2; exit 1; }
work=${WORK:-/dev/shm/rewind-cold}
rm -rf "$work"
mkdir -p "$work"
fs=$(stat -f -c %T "$work")
fmt="%e s wall, %U user, %S sys, %M KiB"
mib() { awk '{ for (i = 1; i <= NF; i++) if ($i == "KiB") printf "%s (%.0f MiB, %.0f MB)\n", $0, $(i-1) / 1024, $(i-1) * 1.024 / 1000 }'; }
echo "cold snapshot against git, $size ($tree), $runs runs, work on $fs; load average $(cut -d' ' -f1-3 /proc/loadavg)"
cp -r "$tree" "$work/tree"
for run in $(seq "$runs"); do
  for bin in "$@"; do
    rm -rf "$work/store"
    "$bin" init -q --store "$work/store" >/dev/null
    t=$(/usr/bin/time -f "$fmt" "$bin" snapshot -q --store "$work/store" "$work/tree" 2>&1 >/dev/null | tail -1)
    echo "run $run $bin: $(echo "$t" | mib)"
  done
  rm -rf "$work/git"
  cp -r "$tree" "$work/git"
  t=$(cd "$work/git" && git init -q && git config user.email b@e && git config user.name bench \
    && git config gc.auto 0 && /usr/bin/time -f "$fmt" sh -c 'git add -A && git commit -qm v1' 2>&1 | tail -1)
  echo "run $run git: $(echo "$t" | mib)"
done
rm -rf "$work"
