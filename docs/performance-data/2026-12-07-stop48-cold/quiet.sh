#!/bin/bash
# quiet.sh (stop 48, cold): NEW=<checkout with its Release builds> BASE=/work/base48 bash quiet.sh [out]   (~3.5 min)
# The server A/B where most messages reload a shed 1:1 conversation: random pairs among 300 users (44,850 pairs) at
# 2,000 msg/s for 1 minute, 1:1 grains shed after 5 s idle and past 2,000 active (Parley:Orleans:DirectIdleAge,
# DirectMaxActive: stop 47's quiet.sh set them under Parley:Messaging, which the server ignores, so its "cold" run kept
# every grain), base then new. Per build soak-io.py's KB read, read calls and CPU ms per accepted message (the first
# minute's row and the whole run), and for new the shed cache's counters (ADR 0033: hits, misses, puts, refused, bytes).
set -u
NEW=${NEW:?NEW=<checkout>}; BASE=${BASE:-/work/base48}; out=${1:-/tmp/quiet48-cold}; mkdir -p $out
here=$NEW/benchmarks/scripts
echo "== server, shed 1:1 reloads (load $(cut -d' ' -f1-3 /proc/loadavg))" | tee $out/summary.txt
G=$NEW/benchmarks/Parley.LoadTest/bin/Release/net10.0/Parley.LoadTest.dll MINUTES=1 RATE=2000 USERS=300 \
  SRVENV="Parley__Orleans__DirectIdleAge=00:00:05 Parley__Orleans__DirectMaxActive=2000" \
  bash $here/soak-ab.sh $out/server base=$BASE/src/Parley.Server/bin/Release/net10.0/Parley.Server.dll new=$NEW/src/Parley.Server/bin/Release/net10.0/Parley.Server.dll \
  | tee -a $out/summary.txt
for label in base new; do
  last=$(ls $out/server/$label.m/ | tail -1)
  echo "-- $label: activations, cache (last metrics page $last)" | tee -a $out/summary.txt
  grep -E '^parley_(messages_accepted_total|direct_grains_registered_total|direct_grains_shed_total|direct_shed_[a-z_]+)' $out/server/$label.m/$last | tee -a $out/summary.txt
done
echo "(load after: $(cut -d' ' -f1-3 /proc/loadavg))" | tee -a $out/summary.txt
