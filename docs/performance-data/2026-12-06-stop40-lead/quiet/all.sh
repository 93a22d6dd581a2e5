#!/bin/bash
# Quiet A/Bs after the CI: base c5f25aa against the CI's build of main (/tmp/ci40).
N=/tmp/ci40/src/Parley.Server/bin/Release/net10.0
NG=/tmp/ci40/benchmarks/Parley.LoadTest/bin/Release/net10.0/Parley.LoadTest.dll
NP=/tmp/ci40/benchmarks/Parley.Push.Benchmarks/bin/Release/net10.0
[ -f $NG ] || NG=/tmp/base40/gen/Parley.LoadTest.dll
cd /work/main
echo "edge $(date -u +%T) $(uptime)"
G=$NG OUT=/tmp/q40edge bash docs/performance-data/2026-12-06-stop40-edge/quiet.sh /tmp/base40/server $N 2 > /tmp/q40/edge.out 2>&1
echo "perf $(date -u +%T) $(uptime)"
G=/tmp/perf40/base/benchmarks/Parley.LoadTest/bin/Release/net10.0/Parley.LoadTest.dll bash docs/performance-data/2026-12-06-stop40-perf/quiet.sh $N /tmp/perf40/base/src/Parley.Server/bin/Release/net10.0 /tmp/q40perf > /tmp/q40/perf.out 2>&1
echo "push $(date -u +%T) $(uptime)"
BASE=/tmp/pb/benchmarks/Parley.Push.Benchmarks/bin/Release/net10.0 NEW=$NP bash docs/performance-data/2026-12-06-stop40-push/ab.sh /tmp/q40push/cold 2 > /tmp/q40/push-cold.out 2>&1
WARMUP=5 BASE=/tmp/pb/benchmarks/Parley.Push.Benchmarks/bin/Release/net10.0 NEW=$NP bash docs/performance-data/2026-12-06-stop40-push/ab.sh /tmp/q40push/warm 2 > /tmp/q40/push-warm.out 2>&1
echo "lead $(date -u +%T) $(uptime)"
bash /tmp/q40/lead.sh $N > /tmp/q40/lead.out 2>&1
echo "end $(date -u +%T) $(uptime)"
