#!/bin/bash
# The rest of the quiet runs after the edge A/B (the 8-minute soak dropped: a second CI needs the time), then the lead's fix, its test, and the CI.
NEW=/tmp/ci42
N=$NEW/src/Parley.Server/bin/Release/net10.0
NG=$NEW/benchmarks/Parley.LoadTest/bin/Release/net10.0/Parley.LoadTest.dll
B=/work/base42/src/Parley.Server/bin/Release/net10.0
while kill -0 1522 2>/dev/null; do sleep 2; done
echo "tail $(date -u +%T) $(uptime)"
G=$NG OUT=/tmp/q42/tail bash $NEW/docs/performance-data/2026-12-07-stop42-tail/quiet.sh $B $N 2 > /tmp/q42/tail.out 2>&1
echo "group $(date -u +%T) $(uptime)"
(cd $NEW && G=$NG GARGS="--group-size 500 --group-rates 1000,2000,3000,4000,5000,6000 --window 5 --drain 3 --raw-receivers --every-step" \
  bash benchmarks/scripts/ab.sh /tmp/q42/group 2 group base=$B/Parley.Server.dll new=$N/Parley.Server.dll; python3 benchmarks/scripts/group-cpu.py /tmp/q42/group) > /tmp/q42/group.out 2>&1
echo "db $(date -u +%T) $(uptime)"
mkdir -p /tmp/q42/db; (cd "$(mktemp -d)" && SRVENV="DOTNET_GCgen0size=0x800000" MINUTES=2 RATE=2000 G=$NG \
  bash $NEW/benchmarks/scripts/soak-ab.sh /tmp/q42/db base=$B/Parley.Server.dll new=$N/Parley.Server.dll
 for l in base new; do python3 $NEW/benchmarks/scripts/prom-hist.py /tmp/q42/db/$l.m/00000.txt /tmp/q42/db/$l.m/$(ls /tmp/q42/db/$l.m | tail -1) \
  parley_storage_sqlite_checkpoint_duration_seconds parley_storage_sqlite_queue_wait_seconds; done) > /tmp/q42/db.out 2>&1
echo "sweep $(date -u +%T) $(uptime)"
bash /tmp/q42/sweep.sh $N/Parley.Server.dll $NG > /tmp/q42/sweep.out 2>&1
echo "end $(date -u +%T) $(uptime)"
