#!/bin/bash
# quiet.sh <new checkout> <base checkout> <outdir> : stop 44 db's quiet A/B (ADR 0025, SQLite migration 30; about 5.5
# minutes, nothing else running). 1:1 random pairs (--chat-peers 0: nearly every message opens a conversation), both
# builds interleaved, both driven by the new checkout's generator and scripts:
#  1. ab.sh, two rounds of one ramp per build (base, new, base, new), 1,000 users: 4,000 · 6,000 · 7,500 · 9,000 ·
#     10,500 msg/s, 4 s windows: the saturation (the last step kept up), CPU %, p50/p99 per step, CPU ms and bytes
#     allocated per message at the half step (stop 43's sweep: 7,019/s).
#  2. soak-ab.sh, one minute each at 2,000 msg/s among 2,000 users (base, new): what the server read and wrote per
#     accepted message (/proc/<pid>/io; KB read grows with the file: stop 43 49 -> 131 KB over 10 minutes) and CPU ms.
# Server logs and /metrics pages stay in <outdir> (never commit them).
set -u
NEW=$(realpath $1); BASE=$(realpath $2); OUT=$3; mkdir -p $OUT/ramp $OUT/soak
S=$NEW/benchmarks/scripts
export G=$NEW/benchmarks/Parley.LoadTest/bin/Release/net10.0/Parley.LoadTest.dll
dll() { echo $1/src/Parley.Server/bin/Release/net10.0/Parley.Server.dll; }
echo "start $(date -u +%T) $(uptime)" | tee $OUT/uptime.txt
RATES=4000,6000,7500,9000,10500 GARGS="--chat-peers 0 --chat-users 1000" timeout 330 bash $S/ab.sh $OUT/ramp 2 chat base=$(dll $BASE) new=$(dll $NEW) > $OUT/ramp/ab.out 2>&1
for r in 1 2; do for l in base new; do
  echo "== $l r$r"; grep '^\[parley chat' $OUT/ramp/$l-r$r.log | sed 's/ | gen cpu.*//' ; grep -E 'sat_msgs|sat_server_cpu|saturated|half_server_cpu_ms|half_server_alloc' $OUT/ramp/$l-r$r.log
done; done | tee $OUT/ramp/table.txt
MINUTES=1 RATE=2000 USERS=2000 timeout 200 bash $S/soak-ab.sh $OUT/soak base=$(dll $BASE) new=$(dll $NEW) > /dev/null 2>&1
for l in base new; do  # 20-s rows (soak-ab.sh's own table has 60-s rows: none after the first in a one-minute soak)
  echo "== $l"; python3 $S/soak-io.py $OUT/soak/$l 20; grep -E '^\[parley soak r1\] [0-9]+ min at' $OUT/soak/$l.summary.txt
done | tee $OUT/soak/table20.txt
echo "end $(date -u +%T) $(uptime)" | tee -a $OUT/uptime.txt
