#!/bin/bash
# Push:Batch 16 (default) vs 32, warm (WARMUP=5), new's build for both, interleaved 16 32 32 16
B=/work/wt/push/benchmarks/Parley.Push.Benchmarks/bin/Release/net10.0/Parley.Push.Benchmarks.dll
P=/work/wt/push/benchmarks/scripts/push.sh
O=${1:-/tmp/push48/batch}
i=0; for b in 16 32 32 16; do i=$((i+1)); BATCH=$b WARMUP=5 B=$B SIMB=$B bash $P $O/b$b-r$i 1 > /dev/null 2>&1; done
for f in $O/b*/push-r1.txt; do echo "$(basename $(dirname $f)): $(grep -oE '= [0-9]+ /s' $f | head -1) | $(grep -oE 'CPU [0-9]+ us, allocated [0-9.]+ KB, SQLite transactions [0-9.]+' $f) | $(grep -oE 'lost [0-9]+, sent twice [0-9]+' $f) | $(head -1 $f | grep -oE 'load average: [0-9.]+')"; done | tee $O/summary.txt
