#!/bin/bash
# quiet.sh <new checkout> <base checkout> <outdir> : stop 45 act's quiet A/B (about 4 minutes, nothing else running): the
# cost of a message that opens a 1:1 conversation. Random pairs among 1,000 users (--chat-peers 0: nearly every message
# opens a conversation), both builds interleaved and driven by the new checkout's generator and scripts:
#  1. alloc.sh PEERS=0 at a fixed 1,000 msg/s: KB allocated and CPU ms per message, from 5,000 accepted messages on over
#     8,000 more; base, new, new2, base2 (~30 s each).
#  2. ab.sh, two rounds of one ramp per build (base, new, base, new), 4 s windows: 4,000 and 7,000 msg/s (below stop 44's
#     quiet saturation, 9,364 and >= 10,795) and 13,000 msg/s (above it): delivered rate, CPU %, p50/p99 per step, CPU ms
#     and KB allocated per message at the half step.
# Usage (the lead, after the CI): bash $NEW/docs/performance-data/2026-12-07-stop45-act/quiet.sh $NEW /work/base45 /tmp/q45act
# Server logs and /metrics pages stay in <outdir> (never commit them).
set -u
NEW=$(realpath $1); BASE=$(realpath $2); OUT=$3; mkdir -p $OUT/alloc $OUT/ramp
S=$NEW/benchmarks/scripts
export G=$NEW/benchmarks/Parley.LoadTest/bin/Release/net10.0/Parley.LoadTest.dll
dll() { echo $1/src/Parley.Server/bin/Release/net10.0/Parley.Server.dll; }
echo "start $(date -u +%T) $(uptime)" | tee $OUT/uptime.txt
for l in base new new2 base2; do
  case $l in base*) d=$BASE;; *) d=$NEW;; esac
  (cd $OUT/alloc && PEERS=0 USERS=1000 FROM=5000 SPAN=8000 timeout 120 bash $S/alloc.sh $l $(dll $d) $OUT/alloc 1000 > $OUT/alloc/$l.run.log 2>&1)
done
cat $OUT/alloc/results.txt
RATES=4000,7000,13000 GARGS="--chat-peers 0 --chat-users 1000" timeout 240 bash $S/ab.sh $OUT/ramp 2 chat base=$(dll $BASE) new=$(dll $NEW) > $OUT/ramp/ab.out 2>&1
for r in 1 2; do for l in base new; do
  echo "== $l r$r"; grep '^\[parley chat' $OUT/ramp/$l-r$r.log | sed 's/ | gen cpu.*//' ; grep -E 'sat_msgs|sat_server_cpu|saturated|half_server_cpu_ms|half_server_alloc' $OUT/ramp/$l-r$r.log
done; done | tee $OUT/ramp/table.txt
echo "end $(date -u +%T) $(uptime)" | tee -a $OUT/uptime.txt
