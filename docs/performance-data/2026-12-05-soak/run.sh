#!/bin/bash
OUT=/work/wt/cluster/docs/performance-data/2026-12-05-soak
G=/work/wt/cluster/benchmarks/Parley.LoadTest/bin/Release/net10.0/Parley.LoadTest.dll
{ date -u; nproc; uptime; git -C /work/wt/cluster log --oneline -1; } > $OUT/machine.txt
( for i in $(seq 40); do echo "$(date -u +%H:%M:%S) $(cut -d' ' -f1-3 /proc/loadavg)"; sleep 60; done ) > $OUT/load.txt &
sampler=$!
dotnet $G --start-server /tmp/cl-soak-srv/Parley.Server.dll --taskset-server 1 --targets parley --runs 1 \
  --scenarios soak --chat-users 2000 --chat-peers 0 --soak-rate 100 --soak-minutes 20 \
  --server-env Parley__Orleans__IdleAge=00:02:00 --out $OUT/soak.json > $OUT/soak.log 2>&1
echo "exit $?" >> $OUT/soak.log
kill $sampler
uptime >> $OUT/machine.txt
