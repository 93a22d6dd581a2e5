#!/bin/bash
# quiet.sh <new checkout> <base checkout> <out>: stop 45, soak — one 2-minute soak per build (base, then new; about 5 minutes
# in all, nothing else running): 1:1 random pairs among 2,000 users at 4,750 msg/s (soak30.sh's rate: half of one core's
# random-pair saturation), the image's DOTNET_GCgen0size, both builds driven by <new>'s generator (soak30.sh with MINUTES=2,
# STEP=10, SETTLE=0). What new changes at this rate: Parley:Orleans:DirectMaxActive (50,000) bounds the 1:1 conversation
# grains that the 30 s DirectIdleAge would keep at ~140,000 (expected: grains ~50,000 instead of ~140,000, the GC heap
# ~400 MB smaller, fewer gen2 collections). table.txt: per build soak30-summary.py's minute table and target lines.
set -u
NEW=$1; BASE=$2; OUT=$3
mkdir -p $OUT
srv() { echo $1/src/Parley.Server/bin/Release/net10.0/Parley.Server.dll; }
cd "$(mktemp -d)"
for b in base new; do
  [ $b = base ] && root=$BASE || root=$NEW
  G=$NEW/benchmarks/Parley.LoadTest/bin/Release/net10.0/Parley.LoadTest.dll MINUTES=2 RATE=4750 USERS=2000 STEP=10 SETTLE=0 \
    bash $NEW/benchmarks/scripts/soak30.sh $OUT/$b $(srv $root) > $OUT/$b.out 2>&1
done
{ for b in base new; do echo "=== $b"; cat $OUT/$b/summary.txt; done; } > $OUT/table.txt
cat $OUT/table.txt
