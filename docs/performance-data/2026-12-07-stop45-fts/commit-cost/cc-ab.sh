#!/bin/bash
# cc-ab.sh: commit-cost (in-process SQLite store, 1:1 text messages in batches of 16, the indexer every 500) for base45 and this worktree, interleaved.
out=${1:-/tmp/fts45/cc}; mkdir -p $out
for r in 1 2; do
  for b in base=/work/base45 new=/work/wt/fts; do
    l=${b%%=*}; d=${b#*=}
    taskset -c 1 dotnet $d/benchmarks/Parley.Benchmarks/bin/Release/net10.0/Parley.Benchmarks.dll commit-cost --messages 20000 --rounds 1 --batches 16 > $out/$l-r$r.txt 2>&1
    grep "with, queued" $out/$l-r$r.txt | head -1 | sed "s/^/$l r$r: /"
  done
done
