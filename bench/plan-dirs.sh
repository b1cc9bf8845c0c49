#!/usr/bin/env bash
# The plan between two generated directories (no store), the measurement of
# issue 11's goal "plan < 5 s and < 1 GB at 100k resources": CPU time (user
# and system), wall time and peak memory of whole `rewind plan` processes,
# then the phase profile of one more run (REWIND_TRACE=1).
#
#   bench/plan-dirs.sh [RESOURCES] [RUNS]     (default 100000 resources, 3 runs)
#
# Needs the release binaries (cargo build --release -p rewind-cli -p
# rewind-bench) and GNU time (/usr/bin/time). The trees are generated into
# /tmp/b<N>-v1 and /tmp/b<N>-v2 (seed 1; version 2 changes about 1% of the
# resources) unless they are there already; about 140 MB each at 100k.
# On a shared machine wall time is noisy: compare CPU seconds.
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-100000}
runs=${2:-3}
bin=target/release
[ -x "$bin/rewind" ] && [ -x "$bin/rewind-bench" ] || {
  echo "build first: cargo build --release -p rewind-cli -p rewind-bench" >&2
  exit 1
}
[ -x /usr/bin/time ] || { echo "needs GNU time (/usr/bin/time; Debian package time)" >&2; exit 1; }
label=$n
case $n in *000) label="$((n / 1000))k" ;; esac
v1=/tmp/b$label-v1
v2=/tmp/b$label-v2
[ -d "$v1" ] || "$bin/rewind-bench" gen --resources "$n" --out "$v1" --seed 1
[ -d "$v2" ] || "$bin/rewind-bench" gen --resources "$n" --out "$v2" --seed 1 --version 2
echo "rewind plan --from $v2 --to $v1 --format json ($n resources), $runs runs; load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "wall (s)  user (s)  sys (s)  user+sys (s)  peak RSS (MiB)"
for _ in $(seq "$runs"); do
  sync
  /usr/bin/time -f "%e %U %S %M" -o /tmp/rewind-plan-time.txt \
    "$bin/rewind" plan --from "$v2" --to "$v1" --format json > /dev/null
  read -r wall user sys kb < /tmp/rewind-plan-time.txt
  awk -v w="$wall" -v u="$user" -v s="$sys" -v k="$kb" \
    'BEGIN { printf "%8.2f  %8.2f  %7.2f  %12.2f  %13.0f\n", w, u, s, u + s, k / 1024 }'
done
rm -f /tmp/rewind-plan-time.txt
echo "phases of one more run:"
REWIND_TRACE=1 "$bin/rewind" plan --from "$v2" --to "$v1" --format json 2>&1 > /dev/null | sed 's/^/  /'
