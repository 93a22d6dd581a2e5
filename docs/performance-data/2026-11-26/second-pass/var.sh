#!/bin/bash
# usage: var.sh NAME SERVERDIR [env...]
name=$1; dir=$2; shift 2
envs=(); for e in "$@"; do envs+=(--server-env "$e"); done
cd /work/wt-perf
dotnet benchmarks/Parley.LoadTest/bin/Release/net10.0/Parley.LoadTest.dll --start-server $dir/Parley.Server.dll --taskset-server 0 --taskset-generator 1 --runs 3 --warmup 1 --window 4 --scenarios chat --chat-peers 1 --targets parley --chat-rates 2000 "${envs[@]}" --out /tmp/perf/$name.json > /tmp/perf/$name.log 2>&1
echo "== $name load $(cat /proc/loadavg | cut -d' ' -f1-3)" >> /tmp/perf/summary.txt
grep "parley chat" /tmp/perf/$name.log | sed -E 's/\| gen cpu.*//' | cut -c1-200 >> /tmp/perf/summary.txt
