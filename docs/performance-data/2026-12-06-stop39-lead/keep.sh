#!/bin/bash
# Copies what a run of run.sh leaves that is kept in the repository (no server logs, no metric snapshots):
# keep.sh <run dir> <dest dir>: the order, the per-run CPU/IO (.cpuio), the generator's JSON, its per-minute lines, the
# search segment gauge and merge counters of the last /metrics snapshot, and the summary.
src=$1; dst=$2; mkdir -p $dst/soak
cp $src/order.txt $dst/ 2>/dev/null; cp $src/soak-summary.txt $dst/ 2>/dev/null
for f in $src/soak/*.cpuio; do
  n=$(basename $f .cpuio)
  cp $f $src/soak/$n.json $dst/soak/ 2>/dev/null
  grep -h "minute" $src/soak/$n.log | sed 's/^\[parley soak r1 //' > $dst/soak/$n.minutes.txt
  grep -hE "^parley_storage_sqlite_(search_segments|background)" $src/soak/$n.json.soak.r1.metrics.txt > $dst/soak/$n.search-metrics.txt 2>/dev/null
done
