#!/bin/bash
# alloc.sh <label> <server dll> [extra generator args]: warm 1:1 at a fixed 2,000 msg/s; dotnet-counters + AllocationTick trace of the server
label=$1; srv=$2; shift 2
GEN=/tmp/p17/base/benchmarks/Parley.LoadTest/bin/Release/net10.0/Parley.LoadTest.dll
out=/tmp/p17/prof/$label; rm -rf $out; mkdir -p $out
echo "== $label start $(date -u +%H:%M:%S) $(uptime)" | tee $out/uptime
dotnet $GEN --start-server $srv --taskset-server 0 --taskset-generator 1 --runs 1 --warmup 3 --window 20 \
  --scenarios chat --targets parley --chat-peers 1 --chat-rates 2000,2000 "$@" --out $out/gen.json > $out/gen.log 2>&1 &
gpid=$!
for i in $(seq 600); do pid=$(grep 'ready at' $out/gen.log | grep -o 'pid [0-9]*' 2>/dev/null | head -1 | cut -d' ' -f2); [ -n "$pid" ] && break; sleep 0.2; done
echo "server pid $pid"
for i in $(seq 900); do grep -q 'ramp 2000/s\]' $out/gen.log && break; sleep 0.2; done
sleep 4
taskset -c 1 ~/.dotnet/tools/dotnet-counters collect -p $pid --counters System.Runtime --refresh-interval 1 --duration 00:00:08 -f csv -o $out/counters.csv > $out/counters.log 2>&1
taskset -c 1 ~/.dotnet/tools/dotnet-trace collect -p $pid --clrevents gc --clreventlevel verbose --duration 00:00:00:06 -o $out/alloc.nettrace > $out/trace.log 2>&1
wait $gpid
echo "== $label end $(date -u +%H:%M:%S) $(uptime)" | tee -a $out/uptime
grep '^\[' $out/gen.log
