#!/bin/bash
# cluster-nodes.sh <outdir> <nodes> [generator options...] : warm 1:1 (by default) against an N-node cluster on this machine:
# N server processes in Parley:Cluster:Mode=Redis on the dev PostgreSQL and Redis (`source /work/dev/env` is done here), a
# fresh schema and service id per run, logs at Warning, free ports; the generator puts connection i on node i mod N
# (--endpoint). Nothing is pinned: the nodes, PostgreSQL, Redis and the generator share every core, so on a small machine
# this shows what the cluster hops cost, not how the cluster scales. DLL = server dll (default: this checkout's Release
# build), G = generator dll (lib.sh). Default generator options: --scenarios chat --chat-peers 1 --chat-rates
# 300,600,1200,2400 --runs 1 --warmup 1 --window 4 (a ramp until a step does not keep up, then half the best rate).
# Writes <outdir>/n<N>/{result.json,gen.log,node<i>.log.gz,load.txt}.
# Optional: NODE_CPUS (e.g. 1) pins every node to those CPUs and GEN_CPUS (e.g. 0) the generator; PIN_SERVICES=1 also
# moves the dev PostgreSQL and Redis (every thread, and the backends PostgreSQL forks later) onto GEN_CPUS, so a 1/2/3-node
# comparison gives the nodes the same fixed CPU budget. PRIME=S runs an unmeasured chat step of S seconds at
# PRIME_RATE (300) msg/s first, through every node, so the measured run does not start on cold nodes (JIT, PostgreSQL
# and cross-node connections). TAG names the output folder (default n<N>). STORE=sqlite (one node only) runs the same
# node standalone on durable SQLite instead of PostgreSQL + Redis, for the one-node PostgreSQL vs SQLite comparison.
set -u
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source $here/lib.sh
OUT=$1/${TAG:-n$2}; N=$2; shift 2; mkdir -p $OUT
source /work/dev/env
DLL=${DLL:-$here/../../src/Parley.Server/bin/Release/net10.0/Parley.Server.dll}
ARGS=("$@"); [ ${#ARGS[@]} = 0 ] && ARGS=(--scenarios chat --chat-peers 1 --chat-rates 300,600,1200,2400 --runs 1 --warmup 1 --window 4)
ID=cnodes$N$(date +%s)
cluster_env $ID
if [ "${STORE:-postgres}" = sqlite ]; then
  [ $N = 1 ] || { echo "STORE=sqlite needs one node" >&2; exit 2; }
  unset Parley__Storage__Provider Parley__Storage__Postgres__ConnectionString Parley__Storage__Postgres__Schema Parley__Cluster__Mode Parley__Cluster__Redis
fi
echo "store ${STORE:-postgres}" | tee -a $OUT/load.txt
NODE_PIN=(); [ -n "${NODE_CPUS:-}" ] && NODE_PIN=(taskset -c $NODE_CPUS)
GEN_PIN=(); [ -n "${GEN_CPUS:-}" ] && GEN_PIN=(taskset -c $GEN_CPUS)
if [ "${PIN_SERVICES:-0}" = 1 ] && [ -n "${GEN_CPUS:-}" ]; then
  for p in $(pgrep -f 'postgres|redis-server'); do taskset -a -p -c $GEN_CPUS $p > /dev/null 2>&1; done
  echo "PostgreSQL and Redis on CPUs $GEN_CPUS" | tee -a $OUT/load.txt
fi
echo "nodes on CPUs ${NODE_CPUS:-all}, generator on ${GEN_CPUS:-all}" | tee -a $OUT/load.txt
PIDS=(); PORTS=()
for i in $(seq 1 $N); do
  p=$(freeport); PORTS+=($p)
  Parley__Storage__DataDirectory=/tmp/cnodes/$ID/node$i Parley__Orleans__SiloPort=$(freeport) Parley__Orleans__GatewayPort=$(freeport) \
    "${NODE_PIN[@]}" dotnet $DLL --urls http://127.0.0.1:$p > $OUT/node$i.log 2>&1 &
  PIDS+=($!)
  for t in $(seq 1 300); do curl -sf http://127.0.0.1:$p/readyz >/dev/null && break; sleep 1; done
  echo "node $i (pid $!) ready after $t s" | tee -a $OUT/load.txt
done
sleep 5
EPS=(); for i in $(seq 2 $N); do EPS+=(--endpoint http://127.0.0.1:${PORTS[$((i-1))]}/); done
if [ -n "${PRIME:-}" ]; then
  "${GEN_PIN[@]}" dotnet $G --targets parley --no-reexec --server-url http://127.0.0.1:${PORTS[0]}/ --server-pid ${PIDS[0]} "${EPS[@]}" \
    --scenarios chat --chat-peers 1 --chat-rates ${PRIME_RATE:-300} --runs 1 --warmup 1 --window $PRIME --out $OUT/prime.json > $OUT/prime.log 2>&1
  echo "prime ($PRIME s at ${PRIME_RATE:-300}/s) exit $?: $(grep -E '^\[parley chat' $OUT/prime.log | grep -o 'lat p50 [0-9.]* p90 [0-9.]* p99 [0-9.]*' | head -1)" | tee -a $OUT/load.txt
fi
echo "load before: $(cat /proc/loadavg) $(date -u +%T)" | tee -a $OUT/load.txt
# Once a second (cpu.txt): the time, each CPU's busy %, and the CPU ticks (10 ms) used so far by all nodes, PostgreSQL,
# Redis and the generator; gen.timed: each generator line with the time it appeared. cluster-cpu.py divides each
# step's CPU by its messages from these (the step's window ends drain_s before its line appears).
python3 $here/cluster-cpu.py sample $OUT "${PIDS[*]}" > $OUT/cpu.txt 2>/dev/null &
CPUMON=$!
( tail -F -n +1 $OUT/gen.log 2>/dev/null | while IFS= read -r l; do echo "$(date +%s.%N) $l"; done > $OUT/gen.timed ) &
TAILMON=$!
"${GEN_PIN[@]}" dotnet $G --targets parley --no-reexec --server-url http://127.0.0.1:${PORTS[0]}/ --server-pid ${PIDS[0]} "${EPS[@]}" "${ARGS[@]}" \
  --out $OUT/result.json > $OUT/gen.log 2>&1
echo "generator exit $? load after: $(cat /proc/loadavg) $(date -u +%T)" | tee -a $OUT/load.txt
kill $CPUMON 2>/dev/null; pkill -P $TAILMON 2>/dev/null; kill $TAILMON 2>/dev/null
stop_pids ${PIDS[@]}
gzip -f $OUT/node*.log
psql -X -q "host=127.0.0.1 port=$(echo "$PARLEY_TEST_POSTGRES" | sed 's/.*Port=\([0-9]*\).*/\1/') user=postgres dbname=postgres" \
  -c "DROP SCHEMA IF EXISTS \"$ID\" CASCADE" > /dev/null 2>&1
rm -rf /tmp/cnodes/$ID
grep -E '^\[parley (chat|group)' $OUT/gen.log | grep -o '\[parley.*\] sent [0-9]*/s deliv [0-9]*/s\|lat p50 [0-9.]* p90 [0-9.]* p99 [0-9.]*\|lost [0-9]*' | paste - - -
python3 $here/cluster-cpu.py steps $OUT | tee $OUT/cpu-steps.txt
