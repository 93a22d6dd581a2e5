#!/bin/bash
# Stop 44's quiet runs after the clean-clone CI, one after another, nothing else running. $NEW = the CI's clone.
NEW=/tmp/ci44
N=$NEW/src/Parley.Server/bin/Release/net10.0
B=/work/base44/src/Parley.Server/bin/Release/net10.0
step() { echo "$1 $(date -u +%T) $(uptime)"; }
# HELPERS: filled in from the reports
step tail;  OUT=/tmp/q44/tail bash $NEW/docs/performance-data/2026-12-07-stop44-tail/quiet.sh $B $N > /tmp/q44/tail.out 2>&1
step edge;  NEW=$NEW bash $NEW/docs/performance-data/2026-12-07-stop44-edge/quiet.sh /tmp/q44/edge > /tmp/q44/edge.out 2>&1
step db;    bash $NEW/docs/performance-data/2026-12-07-stop44-db/quiet.sh $NEW /work/base44 /tmp/q44/db > /tmp/q44/db.out 2>&1
step soak;  bash $NEW/docs/performance-data/2026-12-07-stop44-soak/quiet.sh $NEW /work/base44 /tmp/q44/soak > /tmp/q44/soak.out 2>&1
step mem;   cd $NEW && bash $NEW/docs/performance-data/2026-12-07-stop44-mem/quiet.sh $NEW /work/base44 /tmp/q44/mem > /tmp/q44/mem.out 2>&1
step push;  bash /tmp/q44/push.sh $NEW /tmp/q44/push > /tmp/q44/push.out 2>&1
step sweep; G=$NEW/benchmarks/Parley.LoadTest/bin/Release/net10.0/Parley.LoadTest.dll bash $NEW/benchmarks/scripts/sweep.sh /tmp/q44/sweep $N/Parley.Server.dll > /tmp/q44/sweep.out 2>&1
step end
