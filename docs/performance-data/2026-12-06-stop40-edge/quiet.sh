#!/bin/bash
# quiet.sh <base server dir> <new server dir> [rounds] : stop 40 (edge), for a quiet machine; about 7 min for 2 rounds.
# Per round, three variants interleaved (the order reversed in even rounds): base, new, and new with the image's
# DOTNET_GCgen0size=0x800000 (deploy/Dockerfile; only the environment sets it); each at two loads through step-metrics.sh
# (server on CPU 0, generator on CPU 1, durable SQLite, 3 s warm-up, WINDOW s measured):
#   A: warm 1:1 fixed pairs, 1,000 users, RATE_FIXED (4,000 msg/s: about half of this machine's saturation, 8-9k);
#   B: 1:1 random pairs among 2,000 users (most messages open a conversation), RATE_RANDOM (1,000 msg/s).
# Prints per run and the median per variant: send->receive p50/p90/p99/p99.9/max, server CPU ms per message, KB allocated
# per message, GC pause time and collections (steps-summary.py), and the hops of each run (<label>-<N>.hops).
# Env: G (generator dll; default this checkout's), OUT (/tmp/q40edge), WINDOW (20), RATE_FIXED, RATE_RANDOM, GCTRACE=1
# (every GC pause per run, gc-pauses.cs; adds a tracer on the generator's core).
here=$(cd "$(dirname "$0")" && pwd); repo=$(cd $here/../../.. && pwd)
base=$1; new=$2; rounds=${3:-2}; out=${OUT:-/tmp/q40edge}; mkdir -p $out/fixed $out/random
export G=${G:-$repo/benchmarks/Parley.LoadTest/bin/Release/net10.0/Parley.LoadTest.dll} WINDOW=${WINDOW:-20}
for r in $(seq $rounds); do
  order="base new gen0"; [ $((r % 2)) = 0 ] && order="gen0 new base"
  for v in $order; do
    case $v in
      base) arg="base=$base/Parley.Server.dll";;
      new) arg="new=$new/Parley.Server.dll";;
      gen0) arg="gen0=$new/Parley.Server.dll@DOTNET_GCgen0size=0x800000";;
    esac
    echo "$v r$r fixed start $(date -u +%T) load $(cut -d' ' -f1-3 /proc/loadavg)" >> $out/order.txt
    RATE=${RATE_FIXED:-4000} bash $repo/benchmarks/scripts/step-metrics.sh $out/fixed $arg > $out/fixed/$v-r$r.out 2>&1
    echo "$v r$r random start $(date -u +%T) load $(cut -d' ' -f1-3 /proc/loadavg)" >> $out/order.txt
    RATE=${RATE_RANDOM:-1000} PEERS=0 USERS=2000 bash $repo/benchmarks/scripts/step-metrics.sh $out/random $arg > $out/random/$v-r$r.out 2>&1
  done
done
for load in fixed random; do
  echo "== $load"; python3 $here/steps-summary.py $out/$load
done | tee $out/summary.txt
echo "done $(date -u +%T)" >> $out/order.txt
