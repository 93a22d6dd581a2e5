#!/bin/bash
# quiet.sh <base server dir> <new server dir> [rounds] : issue 17 (stop 42, tail): the half-load step alone, base and new
# interleaved (order reversed every other round): fixed pairs at RATE_FIXED (default 4500 msg/s, about half of this
# machine's fixed-pair saturation) and random pairs among 2,000 users at RATE_RANDOM (default 2000), WINDOW s each (default
# 20, after 3 s of warm-up), both servers with the image's DOTNET_GCgen0size=0x800000, GCTRACE=1 (every GC pause). About
# 40 s a run: 2 rounds = 8 runs, ~5.5 minutes. OUT (default /tmp/q42tail) gets step-metrics.sh's files; summary.txt is
# printed at the end: per run send->receive p50/p99/p99.9/max, the generator's own GC pause and send lag, the server's GC
# (collections by generation, mean MB promoted and mean pause per gen0/gen1 collection, total pause), CPU ms and KB per
# message. G: the generator (default: this checkout's Release build).
here=$(cd "$(dirname "$0")" && pwd); scripts=$here/../../../benchmarks/scripts
base=$1; new=$2; rounds=${3:-2}; out=${OUT:-/tmp/q42tail}; mkdir -p $out
E=DOTNET_GCgen0size=0x800000
for r in $(seq $rounds); do
  if [ $((r % 2)) = 1 ]; then order="base new"; else order="new base"; fi
  for b in $order; do
    dir=$base; [ $b = new ] && dir=$new
    echo "== r$r $b $(date -u +%H:%M:%S) $(uptime)" | tee -a $out/uptime.txt
    RATE=${RATE_FIXED:-4500} WINDOW=${WINDOW:-20} GCTRACE=1 bash $scripts/step-metrics.sh $out/fixed $b=$dir/Parley.Server.dll@$E > /dev/null 2>&1
    RATE=${RATE_RANDOM:-2000} WINDOW=${WINDOW:-20} PEERS=0 USERS=2000 GCTRACE=1 bash $scripts/step-metrics.sh $out/random $b=$dir/Parley.Server.dll@$E > /dev/null 2>&1
  done
done
python3 $here/step-summary.py $out/fixed/*.json $out/random/*.json | tee $out/summary.txt
