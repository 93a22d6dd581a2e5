#!/bin/bash
# Quiet push figure (stop 44, lead): cold 20,000 device-pushes, base vs new, 3 rounds interleaved.
NEW=$1; O=$2; mkdir -p $O
BD=/work/base44/benchmarks/Parley.Push.Benchmarks/bin/Release/net10.0/Parley.Push.Benchmarks.dll
ND=$NEW/benchmarks/Parley.Push.Benchmarks/bin/Release/net10.0/Parley.Push.Benchmarks.dll
P=$NEW/benchmarks/scripts/push.sh
for r in 1 2 3; do
  B=$BD SIMB=$ND bash $P $O/cold-base-r$r 1 > /dev/null 2>&1
  B=$ND SIMB=$ND bash $P $O/cold-new-r$r 1 > /dev/null 2>&1
done
for f in $O/*/push-r1.txt; do echo "$(basename $(dirname $f)): $(grep -oE '= [0-9]+ /s' $f | head -1) | $(grep -oE 'CPU [0-9]+ us, allocated [0-9.]+ KB, SQLite transactions [0-9.]+' $f) | $(grep -oE 'lost [0-9]+, sent twice [0-9]+' $f) | $(grep -oE 'load average: [0-9.]+' $f)"; done | tee $O/summary.txt
