#!/bin/bash
# Stop 43's quiet runs after the clean-clone CI, one after another, nothing else running. $NEW = the CI's clone.
NEW=/tmp/ci43
N=$NEW/src/Parley.Server/bin/Release/net10.0
NG=$NEW/benchmarks/Parley.LoadTest/bin/Release/net10.0/Parley.LoadTest.dll
B=/work/base43/src/Parley.Server/bin/Release/net10.0
step() { echo "$1 $(date -u +%T) $(uptime)"; }
step tail;  OUT=/tmp/q43/tail bash $NEW/docs/performance-data/2026-12-07-stop43-tail/quiet.sh $B $N > /tmp/q43/tail.out 2>&1
step edge;  NEW=$NEW bash $NEW/docs/performance-data/2026-12-07-stop43-edge/quiet-ab.sh /tmp/q43/edge > /tmp/q43/edge.out 2>&1
step db;    bash $NEW/docs/performance-data/2026-12-07-stop43-db/quiet.sh $NEW /work/base43 /tmp/q43/db > /tmp/q43/db.out 2>&1
step group; NEW=$NEW bash $NEW/docs/performance-data/2026-12-07-stop43-group/quiet.sh /tmp/q43/group > /tmp/q43/group.out 2>&1
step mem;   (cd $NEW && bash docs/performance-data/2026-12-07-stop43-mem/quiet.sh $NEW /work/base43 /tmp/q43/mem) > /tmp/q43/mem.out 2>&1
step push;  bash /tmp/q43/push.sh $NEW /tmp/q43/push > /tmp/q43/push.out 2>&1
step sweep; bash /tmp/q43/sweep.sh $N/Parley.Server.dll $NG > /tmp/q43/sweep.out 2>&1
step end
