#!/bin/bash
# quiet.sh <base server dir> <new server dir> [rounds] : stop 39 (edge), for a quiet machine, about 13 min for 2 rounds.
# Per round, base then new (new then base in even rounds):
# A: soak-short.sh, 1:1 random pairs among 2,000 users, 300 msg/s, MINUTES (2) min, server on CPU 1, generator on CPU 0:
#    server CPU ms per message and p50/p99, by stop 36's summary.py.
# B: ab.sh, warm 1:1 fixed pairs, a ramp 1,000-5,000 msg/s then half of saturation (server CPU 0, generator CPU 1):
#    saturation, CPU ms per message at 2,000 msg/s and at half, p99 at half, by ab-summary.py.
# Env: G (generator dll; default this checkout's), OUT (/tmp/q39edge), MINUTES, RATE, RAMP=0 to skip B.
here=$(cd "$(dirname "$0")" && pwd); repo=$(cd $here/../../.. && pwd)
base=$1; new=$2; rounds=${3:-2}; out=${OUT:-/tmp/q39edge}; mkdir -p $out
export G=${G:-$repo/benchmarks/Parley.LoadTest/bin/Release/net10.0/Parley.LoadTest.dll} MINUTES=${MINUTES:-2} RATE=${RATE:-300}
for r in $(seq $rounds); do
  order="base new"; [ $((r % 2)) = 0 ] && order="new base"
  for v in $order; do
    dll=$new/Parley.Server.dll; [ $v = base ] && dll=$base/Parley.Server.dll
    echo "$v r$r soak start $(date -u +%T) load $(cut -d' ' -f1-3 /proc/loadavg)" >> $out/order.txt
    bash $repo/benchmarks/scripts/soak-short.sh $out/soak $v-r$r $dll > $out/$v-r$r.out 2>&1
  done
  if [ "${RAMP:-1}" = 1 ]; then
    echo "ramp r$r start $(date -u +%T) load $(cut -d' ' -f1-3 /proc/loadavg)" >> $out/order.txt
    pairs=(base=$base/Parley.Server.dll new=$new/Parley.Server.dll)
    [ $((r % 2)) = 0 ] && pairs=(${pairs[1]} ${pairs[0]})
    RATES=1000,2000,3000,4000,5000 bash $repo/benchmarks/scripts/ab.sh $out/ramp 1 chat "${pairs[@]}" > $out/ramp-r$r.out 2>&1
    for l in base new; do mv $out/ramp/$l-r1.json $out/ramp/$l-r$r.json; mv $out/ramp/$l-r1.log $out/ramp/$l-r$r.log; done
  fi
done
python3 $repo/docs/performance-data/2026-12-06-stop36-perf/cache-ab/summary.py $out/soak | sort > $out/soak-summary.txt
[ "${RAMP:-1}" = 1 ] && python3 $repo/benchmarks/scripts/ab-summary.py --runs "$out/ramp/{build}-r?.json" --at 2000 --digits 3 base new > $out/ramp-summary.md
cat $out/soak-summary.txt $out/ramp-summary.md 2>/dev/null
echo "done $(date -u +%T)" >> $out/order.txt
