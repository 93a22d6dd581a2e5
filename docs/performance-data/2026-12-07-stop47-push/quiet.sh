#!/bin/bash
# Stop 47, push: the quiet A/B of the push pipeline, cold and warm (issue 17: >= 10,000 device-pushes/s, durable SQLite
# journal). base = $BASE (default /work/base47, main 7c1722e's code), new = $NEW (the CI's clean clone, built in Release).
# Cold: 20,000 device-pushes (2,000 Xiaomi devices x 10 IM messages), nothing sent before. Warm: the same 20,000 after a
# warm-up of 5 messages to every device (10,000 device-pushes sent and settled, not measured: JIT, caches, connections).
# The MiPush endpoint out of process (new's build for both sides). Rounds interleaved: cold base new new base, warm new
# base base new. About 3-4 minutes quiet. Usage: NEW=<CI clone> [BASE=/work/base47] bash quiet.sh [outdir=/tmp/q47push]
set -u
O=${1:-/tmp/q47push}; mkdir -p $O
BASE=${BASE:-/work/base47}
BD=$BASE/benchmarks/Parley.Push.Benchmarks/bin/Release/net10.0/Parley.Push.Benchmarks.dll
ND=$NEW/benchmarks/Parley.Push.Benchmarks/bin/Release/net10.0/Parley.Push.Benchmarks.dll
[ -f $ND ] || dotnet build -c Release $NEW/benchmarks/Parley.Push.Benchmarks -p:ParleySpaBuild=false > $O/build-new.log 2>&1
# base47's tree had no build of the benchmark: build the same commit's source in a scratch copy (never in $BASE)
if [ ! -f $BD ]; then
  rm -rf $O/base-src; mkdir -p $O/base-src
  git -C $NEW archive 7c1722e9 | tar -x -C $O/base-src
  dotnet build -c Release $O/base-src/benchmarks/Parley.Push.Benchmarks -p:ParleySpaBuild=false > $O/build-base.log 2>&1
  BD=$O/base-src/benchmarks/Parley.Push.Benchmarks/bin/Release/net10.0/Parley.Push.Benchmarks.dll
fi
P=$NEW/benchmarks/scripts/push.sh
run() { WARMUP=$4 B=$2 SIMB=$ND bash $P $O/$5-$1-r$3 1 > /dev/null 2>&1; }
run base $BD 1 0 cold; run new $ND 1 0 cold; run new $ND 2 0 cold; run base $BD 2 0 cold
run new $ND 1 5 warm; run base $BD 1 5 warm; run base $BD 2 5 warm; run new $ND 2 5 warm
for f in $O/{cold,warm}-*/push-r1.txt; do echo "$(basename $(dirname $f)): $(grep -oE '= [0-9]+ /s' $f | head -1) | $(grep -oE 'CPU [0-9]+ us, allocated [0-9.]+ KB, SQLite transactions [0-9.]+' $f) | $(grep -oE 'lost [0-9]+, sent twice [0-9]+' $f) | $(grep -oE 'load average: [0-9.]+' $f | head -1)"; done | tee $O/summary.txt
for m in cold warm; do for s in base new; do
  grep -h "^$m-$s-" $O/summary.txt | sed -E 's/.*= ([0-9]+) \/s.*/\1/' | sort -n | awk -v s="$m $s" '{a[NR]=$1} END {print s ": device-pushes/s " a[1] " .. " a[NR] " (" NR " rounds)"}'
done; done | tee -a $O/summary.txt
