#!/bin/bash
GEN=/tmp/perf-after/benchmarks/Parley.LoadTest/bin/Release/net10.0/Parley.LoadTest.dll
for round in 1 2 3; do
  for v in base after-notrace after; do
    t=${v%%-*}; extra=""
    [ "$v" = after-notrace ] && extra="--server-env Parley__Telemetry__Tracing=false"
    srv=/tmp/perf-$t/src/Parley.Server/bin/Release/net10.0/Parley.Server.dll
    echo "== round $round $v $(date -u +%H:%M:%S) load $(cut -d' ' -f1 /proc/loadavg)"
    dotnet $GEN --start-server $srv $extra --taskset-server 0 --taskset-generator 1 --runs 1 --warmup 1 --window 4 \
      --scenarios chat --targets parley --chat-peers 1 --chat-rates 1000,2000,2500,3000,3500,4000 --out /tmp/perf/r2/$v-$round.json > /tmp/perf/r2/$v-$round.log 2>&1
    echo "rc=$?"; grep -E "^chat +(sat_msgs_per_s|half_server_cpu_ms_per_msg) " /tmp/perf/r2/$v-$round.log | awk '{printf "%s=%s  ", $2,$3}'; echo
  done
done
