#!/bin/bash
# Stop 45, derive (ADR 0028): the lead's quiet A/B, about 4 minutes. Usage: bash quiet.sh <new clone> <base clone> [out]
# e.g. bash $NEW/docs/performance-data/2026-12-07-stop45-derive/quiet.sh $NEW /work/base45 /tmp/q45derive
# Warm 1:1 fixed pairs (1,000 users, one peer each: 500 conversations) at 2,000 msg/s through perfprof.sh, three runs in
# this order: base, new (the derived rows flushed every 100 ms, the default), new with Sqlite:DerivedRowsFlushMs=0 (every
# commit, as before). Each run: WALMAP=1 START=8 (5 s of WAL frames by B-tree inside the first step, per accepted message
# and per commit, with base's flush simulated by readmap.py --flush-ms=100), then the 20 s CPU window (cpu.txt:
# us_per_frame = server CPU µs per delivered message). Both builds driven by the new clone's generator and scripts.
set -u
new=$(realpath ${1:?new clone}); base=$(realpath ${2:?base clone}); out=${3:-/tmp/q45derive}; mkdir -p $out
g=$new/benchmarks/Parley.LoadTest/bin/Release/net10.0/Parley.LoadTest.dll
pp=$new/benchmarks/scripts/perfprof.sh
sum=$new/docs/performance-data/2026-12-07-stop45-derive/summary.sh
run() { # label dll srvenv
  echo "== $1 $(date -u +%T) load $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a $out/quiet.log
  OUT=$out G=$g WALMAP=1 START=8 WALMAP_ARGS="--flush-ms=100" SRVENV="$3" bash $pp $1 $2 2000 >> $out/quiet.log 2>&1
  rm -f $out/$1.perf.data $out/$1.walmap.trace
}
run base $base/src/Parley.Server/bin/Release/net10.0/Parley.Server.dll ""
run new100 $new/src/Parley.Server/bin/Release/net10.0/Parley.Server.dll ""
run new0 $new/src/Parley.Server/bin/Release/net10.0/Parley.Server.dll "Parley__Storage__Sqlite__DerivedRowsFlushMs=0"
bash $sum $out base new100 new0 | tee $out/summary.md
