#!/bin/bash
# The generator's --reconnect/--chat-peer-step are on main since the issue-11 port (run1/run2 below used 32d6ea0 +
# generator-reconnect.patch). KILL=0: the same run without the kill (the 4012 resync count of an overloaded cluster).
# Correctness under load, not a speed figure (issue 11): two server processes in Parley:Cluster:Mode=Redis on the dev
# PostgreSQL + Redis, the load generator's warm 1:1 chat over both nodes (connection i on node i mod 2), node 2 killed
# with SIGKILL mid-step once the store holds KILL_AT messages of the run; then every message the generator saw acked is
# looked up in the store (conversation, seq, server msg id) and every conversation is checked gapless. With --reconnect the
# dead node's connections reconnect to node 1, resume from their cursors and resend what was unanswered, as a client does
# (the generator's reconnect lines: end of the old connection to the new one's SyncComplete).
# usage: run.sh OUTDIR [generator options...]
#   env: WT = worktree with Release builds, DLL = server dll (default: WT's), KILL_AT = 400, KILL_AFTER = 8, KILL = 1
set -u
OUT=$1; shift; mkdir -p $OUT
source /work/dev/env
WT=${WT:-/work/wt/cluster}
KILL_AT=${KILL_AT:-400}
ID=ckill$(date +%s)
DLL=${DLL:-$WT/src/Parley.Server/bin/Release/net10.0/Parley.Server.dll}
KILL=${KILL:-1}
PGPORT=$(echo "$PARLEY_TEST_POSTGRES" | sed 's/.*Port=\([0-9]*\).*/\1/')
PSQL=(psql -X -q -t -A -v ON_ERROR_STOP=1 "host=127.0.0.1 port=$PGPORT user=postgres dbname=postgres")
BASE=$((20000 + RANDOM % 20000))
export Parley__Storage__Provider=Postgres Parley__Storage__Postgres__ConnectionString="$PARLEY_TEST_POSTGRES" Parley__Storage__Postgres__Schema=$ID \
  Parley__Cluster__Mode=Redis Parley__Cluster__Redis=$PARLEY_TEST_REDIS Parley__Cluster__AdvertisedAddress=127.0.0.1 \
  Parley__Orleans__ClusterId=$ID Parley__Orleans__ServiceId=$ID Parley__RateLimits__Enabled=false \
  Parley__Tokens__SigningKey=$(openssl rand -base64 32) Parley__Push__TokenKey=$(openssl rand -base64 32) \
  Parley__Admin__Secret=$(openssl rand -hex 32) Logging__LogLevel__Default=Warning
export PARLEY_ADMIN_SECRET=$Parley__Admin__Secret
PIDS=()
for i in 1 2; do
  Parley__Storage__DataDirectory=/tmp/ckill/$ID/node$i Parley__Orleans__SiloPort=$((BASE + i)) Parley__Orleans__GatewayPort=$((BASE + 10 + i)) \
    env 'Logging__LogLevel__Parley.Gateway.Cluster.ClusterDeliveryHub=Information' dotnet $DLL --urls http://127.0.0.1:$((BASE + 20 + i)) > $OUT/node$i.log 2>&1 &
  PIDS+=($!)
  for t in $(seq 1 180); do curl -sf http://127.0.0.1:$((BASE + 20 + i))/readyz >/dev/null && break; sleep 1; done
  echo "node $i (pid ${PIDS[$((i-1))]}) ready after $t s" | tee -a $OUT/run.txt
done
echo "loadavg before: $(cat /proc/loadavg)" | tee -a $OUT/run.txt
date -u | tee -a $OUT/run.txt
dotnet ${GEN_DLL:-$WT/benchmarks/Parley.LoadTest/bin/Release/net10.0/Parley.LoadTest.dll} --targets parley --no-reexec \
  --server-url http://127.0.0.1:$((BASE + 21))/ --server-pid ${PIDS[0]} --endpoint http://127.0.0.1:$((BASE + 22))/ \
  --scenarios chat --reconnect --acked-out $OUT/acked "$@" --out $OUT/result.json > $OUT/gen.log 2>&1 &
GEN=$!
# Kill node 2 once the run has stored KILL_AT messages or KILL_AFTER seconds after its first stored message, whichever
# comes first (on an overloaded machine commits lag the sends by tens of seconds: run1 counted to KILL_AT only after the
# last send), after a random 0-1.5 s more.
KILL_AFTER=${KILL_AFTER:-8}
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
kill -9 ${PIDS[1]}
echo "killed node 2 (SIGKILL) with $("${PSQL[@]}" -c "SELECT count(*) FROM \"$ID\".messages") messages stored, $(date -u +%T.%N)" | tee -a $OUT/run.txt
fi
wait $GEN; echo "generator exit $?" | tee -a $OUT/run.txt
# The servers' view of gaps: closed (4012 to the connections counted) and, since the progress marks, waited for.
for i in 1 2; do
  echo "node $i: gaps closed $(grep -c 'never arrived live' $OUT/node$i.log), connections resynced (4012) $(grep -o 'never arrived live; [0-9]* connections' $OUT/node$i.log | awk '{ s += $4 } END { print s + 0 }'), gaps waited for $(grep -c 'late, not lost' $OUT/node$i.log)" | tee -a $OUT/run.txt
done
grep -E "^\[parley chat|^reconnects" $OUT/gen.log | tee -a $OUT/run.txt
echo "loadavg after: $(cat /proc/loadavg)" | tee -a $OUT/run.txt
# The check: every acked message stored at its acked seq with its server msg id; every conversation gapless from 1.
cat $OUT/acked/*.txt > $OUT/acked-all.txt
"${PSQL[@]}" <<SQL | tee -a $OUT/run.txt
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
kill ${PIDS[@]} 2>/dev/null; wait
gzip -f $OUT/node1.log $OUT/node2.log
"${PSQL[@]}" -c "DROP SCHEMA IF EXISTS \"$ID\" CASCADE" >/dev/null 2>&1
rm -rf /tmp/ckill/$ID
