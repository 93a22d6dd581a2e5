#!/bin/bash
# quiet.sh : issue 17 (stop 47, tail; ADR 0036): the GC's gen0 budget in the server's runtimeconfig, at half of fixed-pair
# saturation. NEW=<new server dir> (its runtimeconfig has System.GC.Gen0MaxBudget = 8 MiB), BASE=<base server dir> (default
# /work/base47/src/Parley.Server/bin/Release/net10.0: no budget in its runtimeconfig). Fixed pairs at 7,000 msg/s (RATE),
# 10 s windows (WINDOW), each run benchmarks/scripts/step-metrics.sh with GCTRACE=1 (the pauses from an EventPipe trace
# taken on CPU 1), interleaved:
#   base (a plain start: the cache's budget), new (a plain start: the runtimeconfig's 8 MiB), img (base with the image's
#   former DOTNET_GCgen0size=0x800000), then the same three reversed.
# Expected: new and img alike (the same 8 MiB budget), both with shorter longest pauses and a lower p99.9/max than base.
# OUT (default /tmp/q47tail); summary.txt at the end. About 3.5 minutes on a quiet machine.
here=$(cd "$(dirname "$0")" && pwd); scripts=$here/../../../benchmarks/scripts
base=${BASE:-/work/base47/src/Parley.Server/bin/Release/net10.0}; new=${NEW:?NEW=<new server dir>}; out=${OUT:-/tmp/q47tail}; mkdir -p $out
export RATE=${RATE:-7000} WINDOW=${WINDOW:-10} PEERS=1 GCTRACE=1
for pair in base=$base/Parley.Server.dll new=$new/Parley.Server.dll img=$base/Parley.Server.dll@DOTNET_GCgen0size=0x800000 \
            img=$base/Parley.Server.dll@DOTNET_GCgen0size=0x800000 new=$new/Parley.Server.dll base=$base/Parley.Server.dll; do
  echo "== ${pair%%=*} $(date -u +%H:%M:%S) $(uptime)" | tee -a $out/uptime.txt
  bash $scripts/step-metrics.sh $out $pair > /dev/null 2>&1
done
grep -h 'System.GC' $base/Parley.Server.runtimeconfig.json $new/Parley.Server.runtimeconfig.json | tee $out/summary.txt
python3 $here/gcsum.py $out | tee -a $out/summary.txt
