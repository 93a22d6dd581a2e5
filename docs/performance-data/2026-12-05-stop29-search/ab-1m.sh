#!/bin/bash
# Issue 18 outlier at 1M through the server: the server before the fix (7d97187's build, whose search code is main's
# 615833a) and after, one run each on the same store, the same harness (the fix's build), under load.
set -u
cd /work/wt/edge
OUT=${OUT:-/tmp/edge-work/data}
mkdir -p $OUT
BENCH=/tmp/edge-bench/bench-new/Parley.Benchmarks.dll
for r in before after; do
  if [ $r = before ]; then SRV=/tmp/edge-bench/server-old/Parley.Server.dll; else SRV=/tmp/edge-bench/server-new/Parley.Server.dll; fi
  echo "=== $r $(date -u +%H:%M:%S) load $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a $OUT/1m-ab.out
  dotnet $BENCH search-server --messages 1000000 --dir /tmp/edge-bench/m1 --queries ${QUERIES:-30} --server $SRV > $OUT/1m-$r.log 2>&1
  tail -9 $OUT/1m-$r.log | tee -a $OUT/1m-ab.out
done
