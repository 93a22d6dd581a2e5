#!/bin/bash
# Quiet quantum A/B on the final CI's build: 1-min (old) vs 10-s (new) collection quantum, MINUTES each, 750 msg/s.
set -u
B=/tmp/ci3
export G=$B/benchmarks/Parley.LoadTest/bin/Release/net10.0/Parley.LoadTest.dll
S=$B/src/Parley.Server/bin/Release/net10.0/Parley.Server.dll
out=/work/dev/quantum; mkdir -p $out
{ date -u; uptime; } > $out/machine.txt
for q in 00:01:00 00:00:10; do
  MINUTES=${MINUTES:-6} RATE=750 bash /tmp/soakscripts/soak-short.sh $out q${q//:/} $S Parley__Orleans__CollectionQuantum=$q
  uptime >> $out/machine.txt
done
echo done >> $out/machine.txt
