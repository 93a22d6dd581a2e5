#!/bin/bash
# Stop 45, fts: the lead's quiet measurement of the search indexer's levers (about 5 minutes, nothing else running).
# NEW=<the CI's clean clone> bash quiet.sh [outdir]. Migration 35 was reverted, so base and new index alike: this measures
# what the next stop would decide on, on the quiet machine.
# 1. Parley.Benchmarks commit-cost on NEW (in-process store: 1:1 texts committed 16 at a time, the search indexer every 500
#    as the server's SearchIndexBatch) with FTS5's automerge 4 (as built), 8 and 16 (--automerge) and indexer batches of
#    2,000 (--index-batch), interleaved, two rounds: the indexer's CPU and WAL pages per message, and the commits' wall p99.
# 2. perfprof.sh on NEW, warm fixed pairs at 6,000 msg/s: the server's CPU per message and FTS5's share of it
#    (components.py --store), the quiet figure stop 44 had under load only.
set -u
BASE=${BASE:-/work/base45}; NEW=${NEW:?set NEW to the CI clone}
out=${1:-/tmp/fts45-quiet-$(date -u +%H%M%S)}; mkdir -p $out
scripts=$NEW/benchmarks/scripts; dll=$NEW/benchmarks/Parley.Benchmarks/bin/Release/net10.0/Parley.Benchmarks.dll
echo "# start $(date -u +%T) load $(cut -d' ' -f1-3 /proc/loadavg)" | tee $out/summary.txt
[ -f $dll ] || echo "missing $dll (build benchmarks/Parley.Benchmarks in Release)" | tee -a $out/summary.txt
for r in 1 2; do
  for v in "am4=" "am8=--automerge 8" "am16=--automerge 16" "batch2000=--index-batch 2000"; do
    l=${v%%=*}; a=${v#*=}
    taskset -c 1 dotnet $dll commit-cost --messages 12000 --rounds 1 --batches 16 $a > $out/cc-$l-r$r.txt 2>&1
    grep "with, queued" $out/cc-$l-r$r.txt | head -1 | sed "s/^/commit-cost $l r$r: /" | tee -a $out/summary.txt
  done
done
OUT=$out SYMBOLS=1 G=$BASE/benchmarks/Parley.LoadTest/bin/Release/net10.0/Parley.LoadTest.dll \
  bash $scripts/perfprof.sh prof-new $NEW/src/Parley.Server/bin/Release/net10.0/Parley.Server.dll 6000 > $out/prof-new.run.log 2>&1
perf script -i $out/prof-new.perf.data 2>/dev/null > $out/prof-new.script.txt; rm -f $out/prof-new.perf.data
echo "perfprof new: $(tr '\n' ' ' < $out/prof-new.cpu.txt)" | tee -a $out/summary.txt
us=$(sed -n 's/.*us_per_frame=\([0-9.]*\).*/\1/p' $out/prof-new.cpu.txt | head -1)
python3 $scripts/components.py $out/prof-new.script.txt --store --per-msg $us > $out/components.md 2>&1
sed -n '/the store.s samples by part/,$p' $out/components.md | tee -a $out/summary.txt
rm -f $out/prof-new.script.txt
echo "# done $(date -u +%T)" | tee -a $out/summary.txt
