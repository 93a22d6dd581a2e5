#!/bin/bash
# cluster-kill.sh OUTDIR [generator options...]: a two-node cluster under the generator's warm 1:1, node 2 SIGKILLed
# mid-step (KILL=0: no kill, the 4012 resync count of an overloaded cluster), then every acked message checked in the store.
#   env: DLL = server dll (default: this checkout's Release build), G = generator dll (lib.sh), KILL_AT = 400 stored
#        messages, KILL_AFTER = 8 s after the first stored message, KILL = 1
# Correctness under load, not a speed figure (issue 11): two server processes in Parley:Cluster:Mode=Redis on the dev
# PostgreSQL + Redis (`source /work/dev/env`), connection i on node i mod 2. Node 2 is killed once the store holds KILL_AT
# messages of the run or KILL_AFTER seconds after its first one, whichever comes first, after a random 0-1.5 s more. With
# --reconnect the dead node's connections reconnect to node 1, resume from their cursors and resend what was unanswered,
# as a client does (the generator's reconnect lines: end of the old connection to the new one's SyncComplete).
# After the generator: both nodes are stopped, then the servers' gap counts are taken from their whole logs (event 1207:
# a gap or tail closed, with the connections it closed with 4012; 1210: a gap waited for, late not lost, since d53bb73;
# 1203/1204: forwarded items not delivered / dropped), then every message the generator saw acked is looked up in the
# store (conversation, seq, server msg id) and every conversation is checked gapless. summary.txt holds one key=value line.
# Moved here from docs/performance-data/2026-12-05-cluster-kill/run.sh (runs run1-run3 and the storm runs used that copy,
# which took the gap counts before stopping the nodes and ran the store check beside them).
set -u
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source $here/lib.sh
OUT=$1; shift; mkdir -p $OUT; OUT=$(cd $OUT && pwd)
source /work/dev/env
KILL_AT=${KILL_AT:-400}
KILL_AFTER=${KILL_AFTER:-8}
KILL=${KILL:-1}
ID=ckill$(date +%s)$RANDOM
DLL=${DLL:-$here/../../src/Parley.Server/bin/Release/net10.0/Parley.Server.dll}
PGPORT=$(echo "$PARLEY_TEST_POSTGRES" | sed 's/.*Port=\([0-9]*\).*/\1/')
PSQL=(psql -X -q -t -A -v ON_ERROR_STOP=1 "host=127.0.0.1 port=$PGPORT user=postgres dbname=postgres")
echo "server $DLL ($(stat -c %y $DLL | cut -c1-19)), generator $G, schema $ID" | tee -a $OUT/run.txt
cluster_env $ID
PIDS=(); PORTS=()
for i in 1 2; do
  p=$(freeport); PORTS+=($p)
  Parley__Storage__DataDirectory=/tmp/ckill/$ID/node$i Parley__Orleans__SiloPort=$(freeport) Parley__Orleans__GatewayPort=$(freeport) \
    env 'Logging__LogLevel__Parley.Gateway.Cluster.ClusterDeliveryHub=Information' dotnet $DLL --urls http://127.0.0.1:$p > $OUT/node$i.log 2>&1 &
  PIDS+=($!)
  for t in $(seq 1 300); do curl -sf http://127.0.0.1:$p/readyz >/dev/null && break; sleep 1; done
  echo "node $i (pid ${PIDS[$((i-1))]}) ready after $t s" | tee -a $OUT/run.txt
done
echo "loadavg before: $(cat /proc/loadavg)" | tee -a $OUT/run.txt
date -u | tee -a $OUT/run.txt
dotnet $G --targets parley --no-reexec \
  --server-url http://127.0.0.1:${PORTS[0]}/ --server-pid ${PIDS[0]} --endpoint http://127.0.0.1:${PORTS[1]}/ \
  --scenarios chat --reconnect --acked-out $OUT/acked "$@" --out $OUT/result.json > $OUT/gen.log 2>&1 &
GEN=$!
FIRST=0
if [ $KILL = 1 ]; then
for t in $(seq 1 2400); do
  n=$("${PSQL[@]}" -c "SELECT count(*) FROM \"$ID\".messages" 2>/dev/null || echo 0)
  [ "${n:-0}" -ge 1 ] && [ $FIRST = 0 ] && FIRST=$(date +%s)
  [ "${n:-0}" -ge "$KILL_AT" ] && break
  [ $FIRST != 0 ] && [ $(( $(date +%s) - FIRST )) -ge $KILL_AFTER ] && break
  sleep 0.5
done
sleep $(awk -v r=$RANDOM 'BEGIN { printf "%.3f", (r % 1500) / 1000 }')
kill -9 ${PIDS[1]}; wait ${PIDS[1]} 2>/dev/null
echo "killed node 2 (SIGKILL) with $("${PSQL[@]}" -c "SELECT count(*) FROM \"$ID\".messages") messages stored, $(date -u +%T.%N)" | tee -a $OUT/run.txt
fi
wait $GEN; echo "generator exit $?" | tee -a $OUT/run.txt
echo "loadavg after: $(cat /proc/loadavg)" | tee -a $OUT/run.txt
# Stop both nodes (SIGTERM, then their logs are complete), then count over their whole life.
stop_pids ${PIDS[@]}
CLOSED=0; RESYNC=0; WAITED=0; UNDELIV=0; DROPPED=0
for i in 1 2; do
  c=$(grep -c 'never arrived live' $OUT/node$i.log)
  r=$(grep -o 'never arrived live; [0-9]* connections' $OUT/node$i.log | awk '{ s += $4 } END { print s + 0 }')
  w=$(grep -c 'late, not lost' $OUT/node$i.log)
  u=$(grep -o 'delivery: [0-9]* items to node' $OUT/node$i.log | awk '{ s += $2 } END { print s + 0 }')
  d=$(grep -c 'is full; an item was dropped' $OUT/node$i.log)
  echo "node $i: gaps closed $c, connections resynced (4012) $r, gaps waited for (late, not lost) $w, forwarded items not delivered $u, dropped $d" | tee -a $OUT/run.txt
  CLOSED=$((CLOSED + c)); RESYNC=$((RESYNC + r)); WAITED=$((WAITED + w)); UNDELIV=$((UNDELIV + u)); DROPPED=$((DROPPED + d))
done
grep -E "^\[parley chat|^reconnects" $OUT/gen.log | tee -a $OUT/run.txt
# The check: every acked message stored at its acked seq with its server msg id; every conversation gapless from 1.
cat $OUT/acked/*.txt > $OUT/acked-all.txt 2>/dev/null || : > $OUT/acked-all.txt
rm -rf $OUT/acked # acked-all.txt holds every step's lines
"${PSQL[@]}" > $OUT/check.txt <<SQL
CREATE TEMP TABLE acked (conversation_id text, seq bigint, server_msg_id text);
\copy acked FROM '$OUT/acked-all.txt' WITH (FORMAT text, DELIMITER ' ')
SELECT 'acked (generator): ' || count(*) FROM acked;
SELECT 'acked and stored at that seq with that id: ' || count(*) FROM acked a JOIN "$ID".messages m USING (conversation_id, seq, server_msg_id);
SELECT 'acked twice (same conversation and seq): ' || count(*) FROM (SELECT conversation_id, seq FROM acked GROUP BY 1, 2 HAVING count(*) > 1) d;
SELECT 'stored messages: ' || count(*) || ' in ' || count(DISTINCT conversation_id) || ' conversations' FROM "$ID".messages;
SELECT 'conversations with a gap or not starting at 1: ' || count(*) FROM (SELECT conversation_id FROM "$ID".messages GROUP BY 1 HAVING max(seq) <> count(*) OR min(seq) <> 1) g;
SELECT 'message versions used twice: ' || count(*) FROM (SELECT version FROM "$ID".messages GROUP BY 1 HAVING count(*) > 1) v;
SELECT 'stored but never acked (in flight at the kill or answered to a dead connection): ' || count(*) FROM "$ID".messages m WHERE NOT EXISTS (SELECT 1 FROM acked a WHERE a.conversation_id = m.conversation_id AND a.seq = m.seq);
SQL
echo "store check exit $?" >> $OUT/check.txt
tee -a $OUT/run.txt < $OUT/check.txt
val() { grep "^$1" $OUT/check.txt | sed 's/.*: \([0-9]*\).*/\1/'; }
gen() { python3 -c "
import json, sys
d = json.load(open('$OUT/result.json'))
print(int(sum(s['Metrics'].get('$1', 0) for s in d['steps'] if not s['Step'].startswith('summary'))))" 2>/dev/null || echo NA; }
GENRESYNC=$(grep -o '^reconnects [0-9]* ([0-9]* after a 4012' $OUT/gen.log | awk '{ print substr($3, 2) }')
echo "closed_gaps=$CLOSED resynced_4012=$RESYNC waited_late=$WAITED forward_items_undelivered=$UNDELIV forward_items_dropped=$DROPPED" \
  "gen_reconnects_after_4012=${GENRESYNC:-0} gen_sent=$(gen sent) gen_acked=$(gen acked) gen_lost=$(gen lost) gen_dup=$(gen duplicates) gen_retried=$(gen retried)" \
  "acked=$(val 'acked (generator)') stored_at_acked_seq=$(val 'acked and stored') acked_twice=$(val 'acked twice') gap_conversations=$(val 'conversations with a gap')" \
  "versions_twice=$(val 'message versions used twice') stored_never_acked=$(val 'stored but never acked')" | tee $OUT/summary.txt | tee -a $OUT/run.txt
gzip -f $OUT/node1.log $OUT/node2.log
"${PSQL[@]}" -c "DROP SCHEMA IF EXISTS \"$ID\" CASCADE" >/dev/null 2>&1
rm -rf /tmp/ckill/$ID
