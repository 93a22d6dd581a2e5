#!/bin/bash
# push.sh <outdir> [rounds=3] [devices=2000] [messages=10] : issue 17's push pipeline figure, device-pushes/s end to end
# with the durable SQLite journal (benchmarks/Parley.Push.Benchmarks: the whole pipeline in one process into an
# accept-all loopback MiPush endpoint), ROUNDS runs, then the median. No server, no generator; needs
#   dotnet build -c Release benchmarks/Parley.Push.Benchmarks -p:ParleySpaBuild=false
# About 30-60 s per round on a quiet 2-core machine. Env: B (the benchmark dll), WORKERS (PushOptions.Workers).
set -e
out=$1; rounds=${2:-3}; devices=${3:-2000}; messages=${4:-10}; mkdir -p $out
here=$(cd "$(dirname "$0")/../.." && pwd)
B=${B:-$here/benchmarks/Parley.Push.Benchmarks/bin/Release/net10.0/Parley.Push.Benchmarks.dll}
for r in $(seq 1 $rounds); do
  { echo "round $r $(date -u +%FT%TZ) $(uptime | sed 's/.*load/load/')"; PUSH_BENCH_WORKERS=${WORKERS:-32} dotnet $B $devices $messages 1 1; } > $out/push-r$r.txt 2>&1
  grep -E "throughput|per device" $out/push-r$r.txt
done
grep -h "^throughput" $out/push-r*.txt | sed -E 's/.* = ([0-9]+) \/s .*/\1/' | sort -n | awk '{a[NR]=$1} END {print "median device-pushes/s: " a[int((NR+1)/2)] " (" NR " rounds)"}' | tee $out/median.txt
