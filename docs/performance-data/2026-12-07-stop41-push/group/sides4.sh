#!/bin/bash
# 4 sides interleaved, small shape (5,000 msgs x 2 devices, warm-5), one endpoint build (g1's)
out=$1; rounds=${2:-3}; mkdir -p $out
S=${S:-/tmp/push41g/g1}/Parley.Push.Benchmarks.dll
for r in $(seq 1 $rounds); do
  for side in base41 s4 g1 g64; do
    case $side in base41) d=/work/base41/benchmarks/Parley.Push.Benchmarks/bin/Release/net10.0; g=1;; s4) d=/tmp/push41/s4; g=1;; g1) d=/tmp/push41g/g1; g=1;; g64) d=/tmp/push41g/g1; g=64;; esac
    SIMB=$S B=$d/Parley.Push.Benchmarks.dll GROUP=$g WARMUP=5 bash /work/wt/push/benchmarks/scripts/push.sh $out/$side-r$r 1 2 5000 > $out/$side-r$r.summary.txt 2>&1
    echo "$side r$r: $(head -1 $out/$side-r$r/push-r1.txt | sed 's/.*load average/load/;s/ vendor.*//') | $(grep -h '^throughput' $out/$side-r$r/push-r1.txt) | $(grep -h '^per device' $out/$side-r$r/push-r1.txt)"
  done
done | tee $out/ab.txt
