#!/bin/bash
# The generator's --chat-peer-step is on main since the issue-11 port (this script was first written for 32d6ea0 + the patch).
# Paired figures on the shared 2-core machine (issue 11), not a scaling figure:
#  A. the same warm 1:1 ramp against one node on SQLite and one node on PostgreSQL (the dev PostgreSQL, fresh schema per
#     run), interleaved S P S P ... in one session; each server started by the generator (--start-server), unpinned.
#  B. a two-node cluster (Redis membership, the dev PostgreSQL): warm 1:1 at a fixed rate with every pair across the
#     nodes (--chat-peer-step 1) and every pair on one node (--chat-peer-step 2), interleaved, on the same two processes.
# usage: run.sh OUTDIR [ROUNDS]   (env: WT = worktree with Release builds)
set -u
OUT=$1; ROUNDS=${2:-3}; mkdir -p $OUT
source /work/dev/env
WT=${WT:-/work/wt/cluster}
DLL=$WT/src/Parley.Server/bin/Release/net10.0/Parley.Server.dll
GEN="dotnet $WT/benchmarks/Parley.LoadTest/bin/Release/net10.0/Parley.LoadTest.dll --targets parley --no-reexec --scenarios chat --chat-peers 1"
PGPORT=$(echo "$PARLEY_TEST_POSTGRES" | sed 's/.*Port=\([0-9]*\).*/\1/')
PSQL=(psql -X -q -t -A "host=127.0.0.1 port=$PGPORT user=postgres dbname=postgres")
RAMP="--chat-rates 250,500,1000,2000 --runs 1 --warmup 1 --window 4"

if [ "${SKIP_A:-0}" != 1 ]; then
for r in $(seq 1 $ROUNDS); do
  for store in sqlite postgres; do
    ENV=()
    if [ $store = postgres ]; then
      SCHEMA=pair$r$(date +%s)
      ENV=(--server-env Parley__Storage__Provider=Postgres --server-env "Parley__Storage__Postgres__ConnectionString=$PARLEY_TEST_POSTGRES" --server-env Parley__Storage__Postgres__Schema=$SCHEMA)
    fi
    echo "A r$r $store: loadavg $(cat /proc/loadavg), $(date -u +%T)" | tee -a $OUT/run.txt
    $GEN --start-server $DLL "${ENV[@]}" $RAMP --out $OUT/a-$store-r$r.json > $OUT/a-$store-r$r.log 2>&1
    echo "  exit $?" | tee -a $OUT/run.txt
    grep -E "^\[parley chat" $OUT/a-$store-r$r.log | tee -a $OUT/run.txt
    [ $store = postgres ] && "${PSQL[@]}" -c "DROP SCHEMA IF EXISTS \"$SCHEMA\" CASCADE" >/dev/null 2>&1
  done
done
fi

# B: one two-node cluster, both kinds of pairs interleaved.
ID=pairc$(date +%s)
BASE=$((20000 + RANDOM % 20000))
export Parley__Storage__Provider=Postgres Parley__Storage__Postgres__ConnectionString="$PARLEY_TEST_POSTGRES" Parley__Storage__Postgres__Schema=$ID \
  Parley__Cluster__Mode=Redis Parley__Cluster__Redis=$PARLEY_TEST_REDIS Parley__Cluster__AdvertisedAddress=127.0.0.1 \
  Parley__Orleans__ClusterId=$ID Parley__Orleans__ServiceId=$ID Parley__RateLimits__Enabled=false \
  Parley__Tokens__SigningKey=$(openssl rand -base64 32) Parley__Push__TokenKey=$(openssl rand -base64 32) \
  Parley__Admin__Secret=$(openssl rand -hex 32) Logging__LogLevel__Default=Warning
export PARLEY_ADMIN_SECRET=$Parley__Admin__Secret
PIDS=()
for i in 1 2; do
  Parley__Storage__DataDirectory=/tmp/cpair/$ID/node$i Parley__Orleans__SiloPort=$((BASE + i)) Parley__Orleans__GatewayPort=$((BASE + 10 + i)) \
    dotnet $DLL --urls http://127.0.0.1:$((BASE + 20 + i)) > $OUT/b-node$i.log 2>&1 &
  PIDS+=($!)
  for t in $(seq 1 180); do curl -sf http://127.0.0.1:$((BASE + 20 + i))/readyz >/dev/null && break; sleep 1; done
  echo "B node $i (pid ${PIDS[$((i-1))]}) ready after $t s" | tee -a $OUT/run.txt
done
for r in $(seq 1 $ROUNDS); do
  for step in 1 2; do
    kind=$([ $step = 1 ] && echo cross || echo same)
    echo "B r$r $kind-node: loadavg $(cat /proc/loadavg), $(date -u +%T)" | tee -a $OUT/run.txt
    $GEN --server-url http://127.0.0.1:$((BASE + 21))/ --server-pid ${PIDS[0]} --endpoint http://127.0.0.1:$((BASE + 22))/ \
      --chat-peer-step $step --chat-rates ${B_RATE:-200} --runs 1 --warmup 2 --window 8 --out $OUT/b-$kind-r$r.json > $OUT/b-$kind-r$r.log 2>&1
    echo "  exit $?" | tee -a $OUT/run.txt
    grep -E "^\[parley chat" $OUT/b-$kind-r$r.log | tee -a $OUT/run.txt
  done
done
kill ${PIDS[@]}; wait
"${PSQL[@]}" -c "DROP SCHEMA IF EXISTS \"$ID\" CASCADE" >/dev/null 2>&1
rm -rf /tmp/cpair/$ID
