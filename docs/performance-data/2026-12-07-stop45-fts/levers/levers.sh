#!/bin/bash
# levers.sh: commit-cost on this worktree (migration 35) with FTS5's automerge 4 (default), 8, 16 and indexer batches of 2,000, interleaved, 2 rounds.
out=${1:-/tmp/fts45/levers}; mkdir -p $out
dll=/work/wt/fts/benchmarks/Parley.Benchmarks/bin/Release/net10.0/Parley.Benchmarks.dll
for r in 1 2; do
  for v in "am4=" "am8=--automerge 8" "am16=--automerge 16" "batch2000=--index-batch 2000"; do
    l=${v%%=*}; a=${v#*=}
    taskset -c 1 dotnet $dll commit-cost --messages 12000 --rounds 1 --batches 16 $a > $out/$l-r$r.txt 2>&1
    grep "with, queued" $out/$l-r$r.txt | head -1 | sed "s/^/$l r$r: /"
  done
done
