#!/bin/bash
# Stop 46's quiet runs after the clean-clone CI, one after another, nothing else running. $CI = the CI's clone (NEW).
NEW=${CI:-/tmp/ci46b}
export NEW
N=$NEW/src/Parley.Server/bin/Release/net10.0
B=/work/base46/src/Parley.Server/bin/Release/net10.0
D=$NEW/docs/performance-data
step() { echo "$1 $(date -u +%T) $(uptime)"; }
left() { echo $(( ( $(date -d "$1" +%s) - $(date +%s) ) / 60 )); }
step bp;    bash $D/2026-12-07-stop46-bp/quiet.sh /tmp/q46/bp > /tmp/q46/bp.out 2>&1
step grain; bash $D/2026-12-07-stop46-grain/quiet.sh /tmp/q46/grain > /tmp/q46/grain.out 2>&1
# the soak: up to 25 minutes, ending by 18:15 UTC (reported as such)
m=$(left 18:15); [ $m -gt 25 ] && m=25
if [ $m -ge 8 ]; then step "soak30 $m min"; RATE=2000 USERS=2000 MINUTES=$m bash $NEW/benchmarks/scripts/soak30.sh /tmp/q46/soak30 $N/Parley.Server.dll > /tmp/q46/soak30.out 2>&1; fi
step read;  OUT=/tmp/q46/read bash $D/2026-12-07-stop46-read/quiet.sh $B $N > /tmp/q46/read.out 2>&1
step cpu;   bash $D/2026-12-07-stop46-cpu/quiet.sh $B $N /tmp/q46/cpu > /tmp/q46/cpu.out 2>&1
step mem;   (cd $NEW && bash docs/performance-data/2026-12-07-stop46-mem/quiet.sh $NEW /work/base46 /tmp/q46/mem) > /tmp/q46/mem.out 2>&1
if [ $(left 18:33) -ge 2 ]; then step push;  bash $D/2026-12-07-stop46-push/quiet.sh /tmp/q46/push > /tmp/q46/push.out 2>&1; fi
if [ $(left 18:33) -ge 3 ]; then step store; bash $D/2026-12-07-stop46-store/quiet.sh $NEW /work/base46 /tmp/q46/store > /tmp/q46/store.out 2>&1; fi
step end
