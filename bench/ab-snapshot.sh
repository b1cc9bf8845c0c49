#!/usr/bin/env bash
# Two or more rewind binaries side by side: cold snapshots of one tree,
# the binaries taking turns run after run (on a shared machine the load
# changes by the minute: turns keep it fair), each into a fresh store.
# Prints each run, then each binary's medians: wall, user and system
# seconds, peak memory (GNU time's %M, KiB), and the load's "read and
# parse" phase (REWIND_TRACE=1), wall and processor seconds.
#
#   bench/ab-snapshot.sh TREE RUNS BIN...
#       TREE: a directory (for example from rewind-bench gen --seed 1),
#       best on a tmpfs; WORK (default /dev/shm/rewind-ab) holds the
#       stores and is removed at the end.
#
# Session 42 measured its change with this (bench/results/2026-12-04-session42.md).
set -euo pipefail
tree=$1 runs=$2
shift 2
[ -d "$tree" ] || { echo "no directory $tree" >&2; exit 1; }
[ $# -ge 1 ] || { echo "usage: $0 TREE RUNS BIN..." >&2; exit 1; }
[ -x /usr/bin/time ] || { echo "needs GNU time (/usr/bin/time; Debian package time)" >&2; exit 1; }
work=${WORK:-/dev/shm/rewind-ab}
rm -rf "$work"
mkdir -p "$work"
out="$work/runs"
: > "$out"
echo "alternating cold snapshots of $tree, $runs runs; load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "binary run: wall user sys KiB read-and-parse(wall cpu)"
for run in $(seq "$runs"); do
  for bin in "$@"; do
    rm -rf "$work/store"
    "$bin" init -q --store "$work/store" >/dev/null
    log=$( { REWIND_TRACE=1 /usr/bin/time -f "TIME %e %U %S %M" \
      "$bin" snapshot -q --store "$work/store" "$tree" >/dev/null; } 2>&1 )
    t=$(echo "$log" | grep '^TIME' | cut -d' ' -f2-)
    r=$(echo "$log" | sed -n 's/^trace: read and parse: \([0-9.]*\)s (cpu \([0-9.]*\)s.*/\1 \2/p')
    [ -n "$t" ] && [ -n "$r" ] || { echo "$bin failed:" >&2; echo "$log" >&2; exit 1; }
    echo "$bin $run: $t $r"
    echo "$bin $t $r" >> "$out"
  done
done
echo "medians:"
for bin in "$@"; do
  for col in 2 3 4 5 6 7; do
    awk -v b="$bin" -v c="$col" '$1 == b { print $c }' "$out" | sort -g \
      | awk '{ v[NR] = $1 } END { printf "%s ", (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
  done | awk -v b="$bin" '{ printf "%s: wall %s s, user %s s, sys %s s, %s KiB, read and parse %s s (cpu %s s)\n", b, $1, $2, $3, $4, $5, $6 }'
done
rm -rf "$work"
