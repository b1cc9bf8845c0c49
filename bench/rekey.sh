#!/bin/sh
# Times `rewind rekey` (a full key rotation) and `rekey --rewrap-only` on
# an encrypted store of the shop releases v1..v4 and on one of two
# generated 10,000-resource releases (bench/results/2026-12-01-rekey.md).
# Run from the repository root after
#   cargo build --release -p rewind-cli -p rewind-bench
set -e
R=$PWD/target/release/rewind
B=$PWD/target/release/rewind-bench
W=$(mktemp -d /tmp/rekey-bench.XXXX)
k1="first passphrase 0001"; k2="second passphrase 0002"
run() { # label key newkey args...
  label=$1; key=$2; new=$3; shift 3
  /usr/bin/time -f "$label: %e s, peak RSS %M KB" env REWIND_KEY="$key" REWIND_NEW_KEY="$new" "$R" "$@" 2>&1 >/dev/null | grep -v "^note\|rotated\|wrapped" | tail -1
}
# shop v1..v4
S=$W/shop
REWIND_KEY=$k1 $R --store $S init --encrypt >/dev/null 2>&1
for v in 1 2 3 4; do REWIND_KEY=$k1 $R --store $S snapshot fixtures/apps/shop/v$v --env prod --tag v$v >/dev/null 2>&1; done
echo "shop store: $(du -sk $S/packs | cut -f1) KB in $(ls $S/packs | grep -c pack$) packs"
a=$k1; b=$k2
for i in 1 2 3; do run "shop rekey (rotation) #$i" "$a" "$b" --store $S rekey; t=$a; a=$b; b=$t; done
for i in 1 2 3; do run "shop rekey --rewrap-only #$i" "$a" "$b" --store $S rekey --rewrap-only; t=$a; a=$b; b=$t; done
REWIND_KEY=$a $R --store $S verify | tail -1
# 10k resources, two releases
$B gen --resources 10000 --out $W/t1 >/dev/null 2>&1
$B gen --resources 10000 --out $W/t2 --version 2 >/dev/null 2>&1
S=$W/big
REWIND_KEY=$k1 $R --store $S init --encrypt >/dev/null 2>&1
REWIND_KEY=$k1 $R --store $S snapshot $W/t1 --env prod --tag r1 >/dev/null 2>&1
REWIND_KEY=$k1 $R --store $S snapshot $W/t2 --env prod --tag r2 >/dev/null 2>&1
echo "10k store: tree $(du -sk $W/t1 | cut -f1) KB; packs $(du -sk $S/packs | cut -f1) KB in $(ls $S/packs | grep -c pack$) packs"
a=$k1; b=$k2
for i in 1 2 3; do run "10k rekey (rotation) #$i" "$a" "$b" --store $S rekey; t=$a; a=$b; b=$t; done
for i in 1 2 3; do run "10k rekey --rewrap-only #$i" "$a" "$b" --store $S rekey --rewrap-only; t=$a; a=$b; b=$t; done
REWIND_KEY=$a $R --store $S verify | tail -1
/usr/bin/time -f "10k verify: %e s" env REWIND_KEY="$a" $R --store $S verify 2>&1 >/dev/null | tail -1
REWIND_KEY="$a" REWIND_NEW_KEY="$b" $R --store $S rekey 2>&1 | tail -1
rm -rf $W
