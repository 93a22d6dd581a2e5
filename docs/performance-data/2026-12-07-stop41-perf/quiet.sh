#!/bin/bash
# quiet.sh <new server dir> <base server dir> <out dir>: stop 41 perf's A/B for the lead, about 7-8 minutes on a quiet machine.
# One 3-minute soak per build (base first): 1:1 random pairs among 2,000 users at RATE (default 2,000 msg/s, about half of the
# quiet random-pair saturation), server on CPU 1, generator on CPU 0, the server's /metrics every 5 s (soak-short.sh, each
# build with its own defaults: IdleAge 2 min; new: DirectIdleAge 30 s, no directory cache on one node). Prints per build the
# generator's minute lines (p99, RSS, conversation grains, GC heap), the 30 s timeline (GC pauses, heap, grains, KB and CPU ms
# per message) and, from 150 s (past base's 2-minute idle age, so both builds deactivate), KB allocated and CPU ms per message.
# G: the generator (default: this checkout's Release build). MINUTES, RATE, USERS override.
set -u
here=$(cd "$(dirname "$0")" && pwd); scripts=$here/../../../benchmarks/scripts
new=$1; base=$2; out=$3; mkdir -p $out
export MINUTES=${MINUTES:-3} RATE=${RATE:-2000} USERS=${USERS:-2000}
for b in base new; do
  dir=$([ $b = base ] && echo $base || echo $new)
  bash $scripts/soak-short.sh $out $b $dir/Parley.Server.dll > $out/$b.out 2>&1
done
for b in base new; do
  echo "== $b ($([ $b = base ] && echo $base || echo $new))"
  grep -E '\] (sent|conversation)|soak r1\]' $out/$b.log | sed 's/^\[parley soak r1 //' | cut -c1-260
  python3 $scripts/soak-timeline.py $out/$b.m 6
  awk 'NR>1 && $1>=60 {if(min==""||$3<min)min=$3; if($3>max)max=$3} END{printf "RSS after 60 s: %.0f-%.0f MB\n", min/1024, max/1024}' $out/$b.rss
done
