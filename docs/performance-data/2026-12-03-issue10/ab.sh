#!/bin/bash
GEN=/tmp/perf-after/benchmarks/Parley.LoadTest/bin/Release/net10.0/Parley.LoadTest.dll
for round in 1 2 3; do
  for t in base after; do
    srv=/tmp/perf-$t/src/Parley.Server/bin/Release/net10.0/Parley.Server.dll
    echo "== round $round $t $(date -u +%H:%M:%S) load $(cut -d' ' -f1 /proc/loadavg)"
    dotnet $GEN --start-server $srv --taskset-server 0 --taskset-generator 1 --runs 1 --warmup 1 --window 4 \
      --scenarios login,chat,group --targets parley --chat-peers 1 --chat-rates 1000,1500,2000,2500,3000,3500,4000 \
      --group-rates 100,200,300,400,500 --out /tmp/perf/r1/$t-$round.json > /tmp/perf/r1/$t-$round.log 2>&1
    echo "rc=$?"
  done
done
