#!/bin/bash
# Stop 45's quiet runs after the clean-clone CI, one after another, nothing else running. $NEW = the CI's clone.
NEW=/tmp/ci45
N=$NEW/src/Parley.Server/bin/Release/net10.0
B=/work/base45/src/Parley.Server/bin/Release/net10.0
D=$NEW/docs/performance-data
step() { echo "$1 $(date -u +%T) $(uptime)"; }
step derive; bash $D/2026-12-07-stop45-derive/quiet.sh $NEW /work/base45 /tmp/q45/derive > /tmp/q45/derive.out 2>&1
step act;   bash $D/2026-12-07-stop45-act/quiet.sh $NEW /work/base45 /tmp/q45/act > /tmp/q45/act.out 2>&1
step mem;   cd $NEW && bash docs/performance-data/2026-12-07-stop45-mem/quiet.sh $NEW /work/base45 /tmp/q45/mem > /tmp/q45/mem.out 2>&1
step tail;  OUT=/tmp/q45/tail bash $D/2026-12-07-stop45-tail/quiet.sh $B $N > /tmp/q45/tail.out 2>&1
step push;  NEW=$NEW bash $D/2026-12-07-stop45-push/quiet.sh /tmp/q45/push > /tmp/q45/push.out 2>&1
step sweep; RANDOM_RATES=2000,4000,6000,8000,10000,12000 G=$NEW/benchmarks/Parley.LoadTest/bin/Release/net10.0/Parley.LoadTest.dll bash $NEW/benchmarks/scripts/sweep.sh /tmp/q45/sweep $N/Parley.Server.dll > /tmp/q45/sweep.out 2>&1
step end
# the soak: 30 minutes if it ends by 15:31 UTC, else what fits (reported as such)
left=$(( ( $(date -d 15:31 +%s) - $(date +%s) ) / 60 - 2 ))
[ $left -gt 30 ] && left=30
if [ $left -ge 10 ]; then step "soak30 $left min"; MINUTES=$left bash $NEW/benchmarks/scripts/soak30.sh /tmp/q45/soak30 $N/Parley.Server.dll > /tmp/q45/soak30.out 2>&1; fi
step soakend
