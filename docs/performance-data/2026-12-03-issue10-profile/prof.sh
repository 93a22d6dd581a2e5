#!/bin/bash
# prof.sh <label> <server dll> [--server-env K=V ...]: warm 1:1 at a fixed 2,000 msg/s; perf CPU samples + dotnet-counters of the server
label=$1; srv=$2; shift 2
GEN=/work/wt/perf/benchmarks/Parley.LoadTest/bin/Release/net10.0/Parley.LoadTest.dll
out=/tmp/prof/$label; rm -rf $out; mkdir -p $out
echo "== $label start $(date -u +%H:%M:%S) $(uptime)" | tee $out/uptime
dotnet $GEN --start-server $srv --taskset-server 0 --taskset-generator 1 --runs 1 --warmup 3 --window 20 \
  --scenarios chat --targets parley --chat-peers 1 --chat-rates 1000,1000 \
  --server-env DOTNET_PerfMapEnabled=1 --server-env DOTNET_EnableWriteXorExecute=0 "$@" --out $out/gen.json > $out/gen.log 2>&1 &
gpid=$!
for i in $(seq 600); do pid=$(grep 'ready at' $out/gen.log | grep -o 'pid [0-9]*' 2>/dev/null | head -1 | cut -d' ' -f2); [ -n "$pid" ] && break; sleep 0.2; done
echo "server pid $pid"
for i in $(seq 900); do grep -q 'ramp 1000/s\]' $out/gen.log && break; sleep 0.2; done
sleep 4
taskset -c 1 perf record -e cpu-clock -c 1000000 -g -C 0 -o $out/perf.data -- sleep 10 > $out/perf.log 2>&1
taskset -c 1 ~/.dotnet/tools/dotnet-counters collect -p $pid --counters System.Runtime --refresh-interval 1 --duration 00:00:10 -f csv -o $out/counters.csv > $out/counters.log 2>&1
m=$(ls -t /tmp/perf-*.map | head -1); echo $m > $out/mapname; cp $m $out/perf-$pid.map; cp $m /tmp/perf-$pid.map; echo "map $m"
wait $gpid
echo "== $label end $(date -u +%H:%M:%S) $(uptime)" | tee -a $out/uptime
grep '^\[' $out/gen.log
