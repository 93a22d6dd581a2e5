#!/bin/bash
# Stop 46, push: the quiet cold A/B of the push pipeline (issue 17: >= 10,000 device-pushes/s, durable SQLite journal).
# base = /work/base46 (main 2546dc8's code), new = $NEW (the CI's clean clone, built in Release). 20,000 device-pushes
# (2,000 Xiaomi devices x 10 IM messages) per run, cold (no warm-up), the MiPush endpoint out of process (one endpoint
# build, new's, for both sides), 3 rounds per side interleaved in the order base new new base base new; ~2-3 min quiet.
# Usage: NEW=<CI clone> bash quiet.sh [outdir=/tmp/q46push]
set -u
O=${1:-/tmp/q46push}; mkdir -p $O
BASE=${BASE:-/work/base46}
BD=$BASE/benchmarks/Parley.Push.Benchmarks/bin/Release/net10.0/Parley.Push.Benchmarks.dll
ND=$NEW/benchmarks/Parley.Push.Benchmarks/bin/Release/net10.0/Parley.Push.Benchmarks.dll
[ -f $ND ] || dotnet build -c Release $NEW/benchmarks/Parley.Push.Benchmarks -p:ParleySpaBuild=false > $O/build.log 2>&1
P=$NEW/benchmarks/scripts/push.sh
run() { B=$2 SIMB=$ND bash $P $O/cold-$1-r$3 1 > /dev/null 2>&1; }
run base $BD 1; run new $ND 1; run new $ND 2; run base $BD 2; run base $BD 3; run new $ND 3
for f in $O/cold-*/push-r1.txt; do echo "$(basename $(dirname $f)): $(grep -oE '= [0-9]+ /s' $f | head -1) | $(grep -oE 'CPU [0-9]+ us, allocated [0-9.]+ KB, SQLite transactions [0-9.]+' $f) | $(grep -oE 'lost [0-9]+, sent twice [0-9]+' $f) | $(grep -oE 'load average: [0-9.]+' $f | head -1)"; done | tee $O/summary.txt
for s in base new; do
  grep -h "^cold-$s-" $O/summary.txt | sed -E 's/.*= ([0-9]+) \/s.*/\1/' | sort -n | awk -v s=$s '{a[NR]=$1} END {print s ": median device-pushes/s " a[int((NR+1)/2)] " (" NR " rounds)"}'
done | tee -a $O/summary.txt
