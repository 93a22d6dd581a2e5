#!/bin/bash
# cluster-nodes.sh <outdir> <nodes> [generator options...] : warm 1:1 (by default) against an N-node cluster on this machine:
# N server processes in Parley:Cluster:Mode=Redis on the dev PostgreSQL and Redis (`source /work/dev/env` is done here), a
# fresh schema and service id per run, logs at Warning, free ports; the generator puts connection i on node i mod N
# (--endpoint). Nothing is pinned: the nodes, PostgreSQL, Redis and the generator share every core, so on a small machine
# this shows what the cluster hops cost, not how the cluster scales. DLL = server dll (default: this checkout's Release
# build), G = generator dll (lib.sh). Default generator options: --scenarios chat --chat-peers 1 --chat-rates
# 300,600,1200,2400 --runs 1 --warmup 1 --window 4 (a ramp until a step does not keep up, then half the best rate).
# Writes <outdir>/n<N>/{result.json,gen.log,node<i>.log.gz,load.txt}.
set -u
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source $here/lib.sh
OUT=$1/n$2; N=$2; shift 2; mkdir -p $OUT
source /work/dev/env
DLL=${DLL:-$here/../../src/Parley.Server/bin/Release/net10.0/Parley.Server.dll}
ARGS=("$@"); [ ${#ARGS[@]} = 0 ] && ARGS=(--scenarios chat --chat-peers 1 --chat-rates 300,600,1200,2400 --runs 1 --warmup 1 --window 4)
ID=cnodes$N$(date +%s)
cluster_env $ID
PIDS=(); PORTS=()
for i in $(seq 1 $N); do
  p=$(freeport); PORTS+=($p)
  Parley__Storage__DataDirectory=/tmp/cnodes/$ID/node$i Parley__Orleans__SiloPort=$(freeport) Parley__Orleans__GatewayPort=$(freeport) \
    dotnet $DLL --urls http://127.0.0.1:$p > $OUT/node$i.log 2>&1 &
  PIDS+=($!)
  for t in $(seq 1 300); do curl -sf http://127.0.0.1:$p/readyz >/dev/null && break; sleep 1; done
  echo "node $i (pid $!) ready after $t s" | tee -a $OUT/load.txt
done
sleep 5
EPS=(); for i in $(seq 2 $N); do EPS+=(--endpoint http://127.0.0.1:${PORTS[$((i-1))]}/); done
echo "load before: $(cat /proc/loadavg) $(date -u +%T)" | tee -a $OUT/load.txt
dotnet $G --targets parley --no-reexec --server-url http://127.0.0.1:${PORTS[0]}/ --server-pid ${PIDS[0]} "${EPS[@]}" "${ARGS[@]}" \
  --out $OUT/result.json > $OUT/gen.log 2>&1
echo "generator exit $? load after: $(cat /proc/loadavg) $(date -u +%T)" | tee -a $OUT/load.txt
stop_pids ${PIDS[@]}
gzip -f $OUT/node*.log
psql -X -q "host=127.0.0.1 port=$(echo "$PARLEY_TEST_POSTGRES" | sed 's/.*Port=\([0-9]*\).*/\1/') user=postgres dbname=postgres" \
  -c "DROP SCHEMA IF EXISTS \"$ID\" CASCADE" > /dev/null 2>&1
rm -rf /tmp/cnodes/$ID
grep -E '^\[parley chat' $OUT/gen.log | grep -o '\[parley.*\] sent [0-9]*/s deliv [0-9]*/s\|lat p50 [0-9.]* p90 [0-9.]* p99 [0-9.]*\|lost [0-9]*' | paste - - -
