#!/bin/bash
# quiet.sh: stop 47, bound (ADR 0035, the bound in time on outstanding send work; the generator's --retry-busy): the overload
# of stop 46 (bp's quiet.sh) for each build, base then new: 1:1 random pairs among 2,000 users offered at RATE (14,000
# msg/s, ~2x one core's random-pair saturation) for one 60-s soak minute plus the generator's drain, the server on CPU 1 and
# the generator on CPU 0 (benchmarks/scripts/soak-short.sh), both with NEW's generator. RETRY=1: the generator retries busy
# refusals as the SDK does (--retry-busy), so "acked" is the messages finally acknowledged. About 100 s per build quiet.
# Prints per build: offered/s, the server's accepted/s over the minute, the generator's acked and its acks' p50/p99, peak RSS,
# busy refusals by scope (node, age, connection) and in the generator, its busy retries, the sends answered UNAVAILABLE by the
# 30-s timeout, the peak outstanding send work, and the generator's loss check.
# Usage: NEW=<build root> [BASE=/work/base47] [RETRY=1] bash quiet.sh [outdir]
set -u
BASE=${BASE:-/work/base47}; NEW=${NEW:?set NEW to the build root (a clone with a Release build)}
out=${1:-/tmp/bound-quiet-$(date +%H%M%S)}; mkdir -p $out
here=$NEW/benchmarks/scripts
export G=$NEW/benchmarks/Parley.LoadTest/bin/Release/net10.0/Parley.LoadTest.dll
[ "${RETRY:-0}" = 1 ] && export GEN_ARGS=--retry-busy
for label in ${LABELS:-base new}; do
  [ ${label%%-*} = base ] && root=$BASE || root=$NEW
  MINUTES=1 RATE=${RATE:-14000} USERS=2000 STEP=5 bash $here/soak-short.sh $out $label $root/src/Parley.Server/bin/Release/net10.0/Parley.Server.dll > $out/$label.run.txt 2>&1
  rm -f $out/$label.server.log
done
python3 "$(dirname "$0")/summary.py" "$out" ${LABELS:-base new}
echo "raw: $out (the /metrics pages every 5 s, RSS, the generator's log)"
