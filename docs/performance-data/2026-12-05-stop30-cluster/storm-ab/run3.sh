#!/bin/bash
# The fourth run (13:53, the load had fallen to ~45 and a run took 3 min): before r2, so the order is after, before, after, before.
OUT=/tmp/cl-storm
export KILL=0 G=/tmp/cl-gen/Parley.LoadTest.dll
ARGS=(--chat-peers 1 --chat-rates 400 --runs 1 --warmup 2 --window 20 --drain 30)
echo "== before r2 $(date -u +%T), loadavg $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a $OUT/ab.txt
DLL=/tmp/cl-before/Parley.Server.dll /tmp/cl-scripts/cluster-kill.sh $OUT/before-r2 "${ARGS[@]}" > $OUT/before-r2.out 2>&1
tail -1 $OUT/before-r2/summary.txt 2>/dev/null | tee -a $OUT/ab.txt
python3 /tmp/cl-scripts/cluster-summary.py $OUT | tee $OUT/table.md
