#!/bin/bash
# The storm A/B (issue 11, stop 30): cluster-kill.sh with KILL=0, the same generator command for both builds, order A B B A
# (after first: the before build was still compiling when the first run started).
OUT=/tmp/cl-storm
export KILL=0 G=/tmp/cl-gen/Parley.LoadTest.dll
ARGS=(--chat-peers 1 --chat-rates 400 --runs 1 --warmup 2 --window 20 --drain 30)
one() {
  local label=$1 r=$2 dll=$3
  echo "== $label r$r $(date -u +%T), loadavg $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a $OUT/ab.txt
  DLL=$dll /tmp/cl-scripts/cluster-kill.sh $OUT/$label-r$r "${ARGS[@]}" > $OUT/$label-r$r.out 2>&1
  tail -1 $OUT/$label-r$r/summary.txt 2>/dev/null | tee -a $OUT/ab.txt
}
one after 1 /tmp/cl-after/Parley.Server.dll
until grep -q copied /tmp/cl-bb.out; do sleep 5; done
grep "rc" /tmp/cl-bb.out | tee -a $OUT/ab.txt
one before 1 /tmp/cl-before/Parley.Server.dll
one before 2 /tmp/cl-before/Parley.Server.dll
one after 2 /tmp/cl-after/Parley.Server.dll
python3 /tmp/cl-scripts/cluster-summary.py $OUT | tee $OUT/table.md
