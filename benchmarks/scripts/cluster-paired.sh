#!/bin/bash
# cluster-paired.sh OUTDIR [PAIRS]: issue 11's paired figures in about 5 minutes on a quiet 2-core machine (PAIRS = 2;
# each extra pair adds about 1.5 min), the short version of docs/performance-data/2026-12-05-cluster-paired/run.sh (20-30 min):
#  A. one node on SQLite against one node on PostgreSQL (the dev PostgreSQL, a fresh schema per run): the same short warm
#     1:1 ramp (A_RATES = 300,600,1200,2400 msg/s, 1 s warm-up + 3 s window a step, stops at the first step that does not
#     keep up, then half the best rate), pairs interleaved with the order reversed every other pair (S P, P S, ...); the
#     generator starts each server (--start-server), unpinned: server, PostgreSQL and generator share both cores.
#  B. one two-node cluster (Redis membership, the dev PostgreSQL): warm 1:1 at B_RATE = 200 msg/s (2 s warm-up + 6 s
#     window) with every pair across the nodes (--chat-peer-step 1) and every pair on one node (--chat-peer-step 2),
#     interleaved the same way on the same two processes.
# Needs the dev services (`source /work/dev/env` is done here) and Release builds of the server and the generator:
#   DLL = server dll (default: this checkout's), G = generator dll (lib.sh). Prints the table at the end (table.md).
# Figures are quiet only if nothing else ran on the machine (uptime.txt records the load before each run).
set -u
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source $here/lib.sh
OUT=$1; PAIRS=${2:-2}; mkdir -p $OUT; OUT=$(cd $OUT && pwd)
source /work/dev/env
DLL=${DLL:-$here/../../src/Parley.Server/bin/Release/net10.0/Parley.Server.dll}
GEN=(dotnet $G --targets parley --no-reexec --scenarios chat --chat-peers 1)
PGPORT=$(echo "$PARLEY_TEST_POSTGRES" | sed 's/.*Port=\([0-9]*\).*/\1/')
PSQL=(psql -X -q -t -A "host=127.0.0.1 port=$PGPORT user=postgres dbname=postgres")
T0=$(date +%s)
echo "server $DLL ($(stat -c %y $DLL | cut -c1-19)), generator $G, $(nproc) cores, $(date -u)" | tee $OUT/run.txt
order() { if [ $(($1 % 2)) = 1 ]; then echo "$2 $3"; else echo "$3 $2"; fi; }

if [ "${SKIP_A:-0}" != 1 ]; then
for r in $(seq 1 $PAIRS); do
  for store in $(order $r sqlite postgres); do
    ENV=()
    if [ $store = postgres ]; then
      SCHEMA=qpair$r$(date +%s)
      ENV=(--server-env Parley__Storage__Provider=Postgres --server-env "Parley__Storage__Postgres__ConnectionString=$PARLEY_TEST_POSTGRES" --server-env Parley__Storage__Postgres__Schema=$SCHEMA)
    fi
    echo "A r$r $store $(date -u +%T): $(uptime)" | tee -a $OUT/run.txt >> $OUT/uptime.txt
    "${GEN[@]}" --start-server $DLL "${ENV[@]}" --chat-rates ${A_RATES:-300,600,1200,2400} --runs 1 --warmup 1 --window 3 --drain 10 \
      --out $OUT/a-$store-r$r.json > $OUT/a-$store-r$r.log 2>&1
    echo "  exit $?" >> $OUT/run.txt
    grep -E "^\[parley chat" $OUT/a-$store-r$r.log >> $OUT/run.txt
    [ $store = postgres ] && "${PSQL[@]}" -c "DROP SCHEMA IF EXISTS \"$SCHEMA\" CASCADE" >/dev/null 2>&1
  done
done
fi

if [ "${SKIP_B:-0}" != 1 ]; then
ID=qpairc$(date +%s)
cluster_env $ID
PIDS=(); PORTS=()
for i in 1 2; do
  p=$(freeport); PORTS+=($p)
  Parley__Storage__DataDirectory=/tmp/cpair/$ID/node$i Parley__Orleans__SiloPort=$(freeport) Parley__Orleans__GatewayPort=$(freeport) \
    dotnet $DLL --urls http://127.0.0.1:$p > $OUT/b-node$i.log 2>&1 &
  PIDS+=($!)
  for t in $(seq 1 300); do curl -sf http://127.0.0.1:$p/readyz >/dev/null && break; sleep 1; done
  echo "B node $i (pid ${PIDS[$((i-1))]}) ready after $t s" >> $OUT/run.txt
done
if [ -n "${PRIME:-}" ]; then   # PRIME=S: an unmeasured cross-node run of S seconds first (cold nodes: JIT, connections)
  "${GEN[@]}" --server-url http://127.0.0.1:${PORTS[0]}/ --server-pid ${PIDS[0]} --endpoint http://127.0.0.1:${PORTS[1]}/ \
    --chat-peer-step 1 --chat-rates ${B_RATE:-200} --runs 1 --warmup 1 --window $PRIME --out $OUT/b-prime.json > $OUT/b-prime.log 2>&1
  echo "B prime ($PRIME s): $(grep -E '^\[parley chat' $OUT/b-prime.log | grep -o 'lat p50 [0-9.]* p90 [0-9.]* p99 [0-9.]*' | head -1)" >> $OUT/run.txt
fi
for r in $(seq 1 $PAIRS); do
  for kind in $(order $r cross same); do
    step=$([ $kind = cross ] && echo 1 || echo 2)
    echo "B r$r $kind-node $(date -u +%T): $(uptime)" | tee -a $OUT/run.txt >> $OUT/uptime.txt
    "${GEN[@]}" --server-url http://127.0.0.1:${PORTS[0]}/ --server-pid ${PIDS[0]} --endpoint http://127.0.0.1:${PORTS[1]}/ \
      --chat-peer-step $step --chat-rates ${B_RATE:-200} --runs 1 --warmup 2 --window 6 --drain 10 --out $OUT/b-$kind-r$r.json > $OUT/b-$kind-r$r.log 2>&1
    echo "  exit $?" >> $OUT/run.txt
    grep -E "^\[parley chat" $OUT/b-$kind-r$r.log >> $OUT/run.txt
  done
done
stop_pids ${PIDS[@]}
gzip -f $OUT/b-node1.log $OUT/b-node2.log
"${PSQL[@]}" -c "DROP SCHEMA IF EXISTS \"$ID\" CASCADE" >/dev/null 2>&1
rm -rf /tmp/cpair/$ID
fi
echo "done in $(( $(date +%s) - T0 )) s" | tee -a $OUT/run.txt
python3 - "$OUT" <<'PY' | tee $OUT/table.md
import glob, json, os, re, statistics, sys
out = sys.argv[1]
def load(f):
    d = json.load(open(f))
    return d["steps"], (d["summaries"][0]["Metrics"] if d.get("summaries") else {})
def fmt(v, d=0):
    return "—" if v is None else f"{v:,.{d}f}"
def med(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None
rows = {}
for f in sorted(glob.glob(os.path.join(out, "a-*-r*.json"))):
    store, r = re.match(r"a-(\w+)-r(\d+)\.json", os.path.basename(f)).groups()
    steps, s = load(f)
    first = steps[0]["Metrics"] if steps else {}
    rows.setdefault(store, []).append((r, s.get("sat_msgs_per_s"), first.get("offered_per_s"), first.get("p50_ms"), first.get("p99_ms"),
                                       s.get("half_offered_per_s"), s.get("half_p50_ms"), s.get("half_p99_ms"), s.get("lost")))
if rows:
    print("A. one node, SQLite vs PostgreSQL (warm 1:1 ramp; every run, then the median)\n")
    print("| store | run | saturation msg/s | first step: rate, p50, p99 ms | half: rate, p50, p99 ms | lost |")
    print("|---|---|---:|---|---|---:|")
    for store, rs in rows.items():
        for r, sat, fr, f50, f99, hr, h50, h99, lost in rs:
            print(f"| {store} | r{r} | {fmt(sat)} | {fmt(fr)}/s, {fmt(f50, 1)}, {fmt(f99, 1)} | {fmt(hr)}/s, {fmt(h50, 1)}, {fmt(h99, 1)} | {fmt(lost)} |")
        print(f"| {store} | median | {fmt(med([x[1] for x in rs]))} | p50 {fmt(med([x[3] for x in rs]), 1)}, p99 {fmt(med([x[4] for x in rs]), 1)} | "
              f"p50 {fmt(med([x[6] for x in rs]), 1)}, p99 {fmt(med([x[7] for x in rs]), 1)} | |")
    print()
rows = {}
for f in sorted(glob.glob(os.path.join(out, "b-*-r*.json"))):
    kind, r = re.match(r"b-(\w+)-r(\d+)\.json", os.path.basename(f)).groups()
    steps, s = load(f)
    m = steps[0]["Metrics"] if steps else {}
    rows.setdefault(kind, []).append((r, m.get("sent_per_s"), m.get("delivery_ratio"), m.get("p50_ms"), m.get("p99_ms"), m.get("ack_p50_ms"), m.get("ack_p99_ms"),
                                      m.get("server_cpu_ms_per_msg"), m.get("lost")))
if rows:
    print("B. two nodes on PostgreSQL, cross-node vs same-node pairs (fixed rate; every run, then the median)\n")
    print("| pairs | run | sent/s | delivery ratio | delivery p50, p99 ms | ack p50, p99 ms | node 1 CPU ms/msg | lost |")
    print("|---|---|---:|---:|---|---|---:|---:|")
    for kind, rs in rows.items():
        for r, sent, ratio, p50, p99, a50, a99, cpu, lost in rs:
            print(f"| {kind} | r{r} | {fmt(sent)} | {fmt(ratio, 3)} | {fmt(p50, 1)}, {fmt(p99, 1)} | {fmt(a50, 1)}, {fmt(a99, 1)} | {fmt(cpu, 3)} | {fmt(lost)} |")
        print(f"| {kind} | median | | | {fmt(med([x[3] for x in rs]), 1)}, {fmt(med([x[4] for x in rs]), 1)} | "
              f"{fmt(med([x[5] for x in rs]), 1)}, {fmt(med([x[6] for x in rs]), 1)} | {fmt(med([x[7] for x in rs]), 3)} | |")
PY
