#!/bin/bash
# Quiet runs of stop 37 (lead), after the clean-clone CI, on the CI's own Release build ($B).
# soak-short (1:1 random pairs among 2,000 users, 300 msg/s, MINUTES min, server on CPU 1, generator on CPU 0), three variants
# interleaved, the order reversed in round 2: nofts = full-text search off (no text queued, no index); mergeoff = search on,
# the index's background merge off (SearchMergePages=0); def = search on with the defaults (the merge bounded to 1 % of the
# writer's time, SearchMergeShare=0.01). The search's cost on the send path is def against nofts.
B=${B:-/tmp/ci37}; out=${OUT:-/tmp/q37}; mkdir -p $out
export G=$B/benchmarks/Parley.LoadTest/bin/Release/net10.0/Parley.LoadTest.dll MINUTES=${MINUTES:-2} RATE=${RATE:-300}
cp -r $B/benchmarks/scripts $out/scripts
for r in $(seq 1 ${ROUNDS:-2}); do
  order="nofts mergeoff def"; [ $((r % 2)) = 0 ] && order="def mergeoff nofts"
  for v in $order; do
    case $v in
      nofts) extra="Parley__Messaging__FullTextSearch=false";;
      mergeoff) extra="Parley__Storage__Sqlite__SearchMergePages=0";;
      def) extra="Parley__Storage__Sqlite__SearchMergeShare=0.01";;
    esac
    echo "$v r$r start $(date -u +%T) load $(cut -d' ' -f1-3 /proc/loadavg)" >> $out/order.txt
    bash $out/scripts/soak-short.sh $out/soak $v-r$r $B/src/Parley.Server/bin/Release/net10.0/Parley.Server.dll $extra > $out/$v-r$r.out 2>&1
  done
done
python3 $B/docs/performance-data/2026-12-06-stop36-perf/cache-ab/summary.py $out/soak | sort > $out/soak-summary.txt
python3 $B/docs/performance-data/2026-12-06-stop37-lead/merge-share.py $out/soak >> $out/soak-summary.txt
echo "done $(date -u +%T)" >> $out/order.txt
