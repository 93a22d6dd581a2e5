#!/bin/bash
# Interleaved A/B: 9c64fba (before issue 10) vs main 59b1bb1, same generator, pinned cores.
GEN=/work/wt/perf/benchmarks/Parley.LoadTest/bin/Release/net10.0/Parley.LoadTest.dll
declare -A SRV=([base]=/work/wt/perf-base/src/Parley.Server/bin/Release/net10.0/Parley.Server.dll [main]=/work/wt/perf/src/Parley.Server/bin/Release/net10.0/Parley.Server.dll)
for round in 1 2 3 4; do
  for t in base main; do
    echo "== round $round $t $(date -u +%H:%M:%S) $(uptime)"
    dotnet $GEN --start-server ${SRV[$t]} --taskset-server 0 --taskset-generator 1 --runs 1 --warmup 1 --window 4 \
      --scenarios login --targets parley --chat-peers 1 --chat-rates 1000,1500,2000,2500,3000,3500,4000 \
      --out /tmp/ab3/$t-$round.json > /tmp/ab3/$t-$round.log 2>&1
    echo "rc=$?"
  done
done
echo "== end $(date -u +%H:%M:%S) $(uptime)"
