#!/bin/bash
# Quiet A/Bs after the CI (stop 41): base /work/base41 against the CI's build of main (/tmp/ci41).
NEW=/tmp/ci41
N=$NEW/src/Parley.Server/bin/Release/net10.0
NG=$NEW/benchmarks/Parley.LoadTest/bin/Release/net10.0/Parley.LoadTest.dll
BG=/work/base41/benchmarks/Parley.LoadTest/bin/Release/net10.0/Parley.LoadTest.dll
echo "edge $(date -u +%T) $(uptime)"
G=$BG OUT=/tmp/q41edge bash $NEW/docs/performance-data/2026-12-07-stop41-edge/quiet.sh /work/base41/src/Parley.Server/bin/Release/net10.0 $N 3 > /tmp/q41/edge.out 2>&1
echo "perf $(date -u +%T) $(uptime)"
(cd $NEW && G=$NG bash docs/performance-data/2026-12-07-stop41-perf/quiet.sh $N /work/base41/src/Parley.Server/bin/Release/net10.0 /tmp/q41perf) > /tmp/q41/perf.out 2>&1
echo "push $(date -u +%T) $(uptime)"
PB=/work/base41/benchmarks/Parley.Push.Benchmarks/bin/Release/net10.0
PN=$NEW/benchmarks/Parley.Push.Benchmarks/bin/Release/net10.0
[ -f $PN/Parley.Push.Benchmarks.dll ] || dotnet build -c Release $NEW/benchmarks/Parley.Push.Benchmarks -p:ParleySpaBuild=false > /tmp/q41/pushbuild.log 2>&1
BASE=$PB NEW=$PN bash $NEW/docs/performance-data/2026-12-07-stop41-push/ab41.sh /tmp/q41push > /tmp/q41/push.out 2>&1
echo "lead $(date -u +%T) $(uptime)"
SOAK_MIN=${SOAK_MIN:-30} bash /tmp/q41/lead.sh $N $NG > /tmp/q41/lead.out 2>&1
echo "end $(date -u +%T) $(uptime)"
