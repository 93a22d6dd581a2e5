#!/bin/bash
# quiet.sh (stop 47, first): NEW=<checkout with its Release builds> BASE=/work/base47 bash quiet.sh [out]
# 1. activation-io (store level, NEW's Parley.Benchmarks): a 1:1 activation's reads, the three reads base makes
#    (GetConversationAsync, GetMembersAsync, ReadMessagesAsync) against NEW's LoadConversationAsync (one read transaction),
#    interleaved on one prefilled file (300,000 random-pair messages among 2,000 users), 3 rounds: KB read, read calls and
#    CPU µs per activation. ~1.5 min.
# 2. the server: random pairs among 300 users at 2,000 msg/s for 1 minute, 1:1 grains deactivated after 5 s idle and at most
#    2,000 kept (so most messages reload a cold conversation, as late in issue 17's soak), BASE then NEW: soak-io.py's KB
#    read and CPU ms per accepted message. ~3 min.
set -u
NEW=${NEW:?NEW=<checkout>}; BASE=${BASE:-/work/base47}; out=${1:-/tmp/quiet47-first}; mkdir -p $out
here=$NEW/benchmarks/scripts
echo "== activation-io (load $(cut -d' ' -f1-3 /proc/loadavg))" | tee $out/summary.txt
taskset -c 0 dotnet $NEW/benchmarks/Parley.Benchmarks/bin/Release/net10.0/Parley.Benchmarks.dll activation-io --users 2000 --prefill 300000 --activations 2000 --rounds 3 \
  > $out/activation-io.txt 2>&1
tail -4 $out/activation-io.txt | tee -a $out/summary.txt
echo "== server, cold 1:1 reloads (load $(cut -d' ' -f1-3 /proc/loadavg))" | tee -a $out/summary.txt
G=$NEW/benchmarks/Parley.LoadTest/bin/Release/net10.0/Parley.LoadTest.dll MINUTES=1 RATE=2000 USERS=300 \
  SRVENV="Parley__Messaging__DirectIdleAge=00:00:05 Parley__Messaging__DirectMaxActive=2000" \
  bash $here/soak-ab.sh $out/server base=$BASE/src/Parley.Server/bin/Release/net10.0/Parley.Server.dll new=$NEW/src/Parley.Server/bin/Release/net10.0/Parley.Server.dll \
  | tee -a $out/summary.txt
