#!/bin/bash
# Continues run.sh after before-r1 (run.sh stopped there at 13:48: at load 70-145 a run takes ~8 min, so the order was
# cut to after, before, after to end by 14:05).
OUT=/tmp/cl-storm
export KILL=0 G=/tmp/cl-gen/Parley.LoadTest.dll
ARGS=(--chat-peers 1 --chat-rates 400 --runs 1 --warmup 2 --window 20 --drain 30)
until [ -f $OUT/before-r1/summary.txt ] && ! pgrep -f "cl-scripts/cluster-kill.sh $OUT/before-r1" > /dev/null; do sleep 3; done
tail -1 $OUT/before-r1/summary.txt >> $OUT/ab.txt
echo "== after r2 $(date -u +%T), loadavg $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a $OUT/ab.txt
DLL=/tmp/cl-after/Parley.Server.dll /tmp/cl-scripts/cluster-kill.sh $OUT/after-r2 "${ARGS[@]}" > $OUT/after-r2.out 2>&1
tail -1 $OUT/after-r2/summary.txt 2>/dev/null | tee -a $OUT/ab.txt
python3 /tmp/cl-scripts/cluster-summary.py $OUT | tee $OUT/table.md
