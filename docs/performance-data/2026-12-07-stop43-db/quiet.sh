#!/bin/bash
# quiet.sh <new checkout> <base checkout> <outdir> : stop 43 db's quiet A/B (about 5 minutes, nothing else running).
# 1:1 random pairs among 1,000 users (--chat-peers 0: nearly every message opens a conversation), both builds interleaved:
#  1. alloc.sh PEERS=0 at a fixed 1,000 msg/s: KB allocated and CPU ms per message, from 5,000 accepted messages on over
#     10,000 more; base, new, new, base (each ~35 s).
#  2. ab.sh, two rounds of one ramp per build (base, new, base, new): 2,000 · 3,500 · 5,000 · 6,000 · 7,000 msg/s, 4 s
#     windows: the saturation (the last step kept up), CPU %, p50/p99 per step, CPU ms and bytes per message at the half step.
# Both builds are driven by the new checkout's generator (the base's has the same chat scenario). Server logs stay in
# <outdir> (never commit them).
set -u
NEW=$(realpath $1); BASE=$(realpath $2); OUT=$3; mkdir -p $OUT/alloc $OUT/ramp
S=$NEW/benchmarks/scripts
export G=$NEW/benchmarks/Parley.LoadTest/bin/Release/net10.0/Parley.LoadTest.dll
dll() { echo $1/src/Parley.Server/bin/Release/net10.0/Parley.Server.dll; }
echo "start $(date -u +%T) $(uptime)" | tee $OUT/uptime.txt
for l in base new new2 base2; do
  case $l in base*) d=$BASE;; *) d=$NEW;; esac
  (cd $OUT/alloc && PEERS=0 USERS=1000 FROM=5000 SPAN=10000 timeout 150 bash $S/alloc.sh $l $(dll $d) $OUT/alloc 1000 > $OUT/alloc/$l.run.log 2>&1)
done
cat $OUT/alloc/results.txt
RATES=2000,3500,5000,6000,7000 GARGS="--chat-peers 0 --chat-users 1000" timeout 400 bash $S/ab.sh $OUT/ramp 2 chat base=$(dll $BASE) new=$(dll $NEW) > $OUT/ramp/ab.out 2>&1
for r in 1 2; do for l in base new; do
  echo "== $l r$r"; grep '^\[parley chat' $OUT/ramp/$l-r$r.log | sed 's/ | gen cpu.*//' ; grep -E 'sat_msgs|sat_server_cpu|saturated|half_server_cpu_ms|half_server_alloc' $OUT/ramp/$l-r$r.log
done; done
echo "end $(date -u +%T) $(uptime)" | tee -a $OUT/uptime.txt
