#!/bin/bash
# Quiet runs of stop 39 (lead) on a Release build ($B): first on stop 38's landed CI2 build (/tmp/ci38b), then on this stop's CI build.
# soak-short (1:1 random pairs among 2,000 users, RATE msg/s, MINUTES min, server on CPU 1, generator on CPU 0), variants
# interleaved, the order reversed every other round (VARIANTS, default "nofts def spin70"):
#   nofts  = full-text search off (no text queued, no index);
#   def    = the defaults (search on, the merge bounded to 1 % of the writer's time);
#   spin70 = the defaults with the thread pool spinning as before stop 38 (DOTNET_ThreadPool_UnfairSemaphoreSpinLimit=0x46: the variable is hexadecimal, 70);
#   m16    = the defaults with merge steps of 16 leaf pages instead of 64;
#   m0     = search on, the background merge off (SearchMergePages 0; FTS5's own automerge still runs in the indexer's writes).
# Search's cost on the send path is def against nofts; the spin setting's effect is def against spin70.
B=${B:-/tmp/ci38b}; out=${OUT:-/tmp/q39}; mkdir -p $out
export G=$B/benchmarks/Parley.LoadTest/bin/Release/net10.0/Parley.LoadTest.dll MINUTES=${MINUTES:-2} RATE=${RATE:-300}
cp -r $B/benchmarks/scripts $out/scripts 2>/dev/null
variants=${VARIANTS:-nofts def spin70}
for r in $(seq ${FIRST:-1} ${ROUNDS:-2}); do
  order=$variants; [ $((r % 2)) = 0 ] && order=$(echo $variants | tr ' ' '\n' | tac | tr '\n' ' ')
  for v in $order; do
    case $v in
      nofts) extra="Parley__Messaging__FullTextSearch=false";;
      def) extra="Parley__Storage__Sqlite__SearchMergeShare=0.01";;
      spin70) extra="DOTNET_ThreadPool_UnfairSemaphoreSpinLimit=0x46";;
      m16) extra="Parley__Storage__Sqlite__SearchMergePages=16";;
      m0) extra="Parley__Storage__Sqlite__SearchMergePages=0";;
    esac
    echo "$v r$r start $(date -u +%T) load $(cut -d' ' -f1-3 /proc/loadavg)" >> $out/order.txt
    bash $out/scripts/soak-short.sh $out/soak $v-r$r $B/src/Parley.Server/bin/Release/net10.0/Parley.Server.dll $extra > $out/$v-r$r.out 2>&1
  done
done
python3 $B/docs/performance-data/2026-12-06-stop36-perf/cache-ab/summary.py $out/soak | sort > $out/soak-summary.txt
python3 $B/docs/performance-data/2026-12-06-stop37-lead/merge-share.py $out/soak >> $out/soak-summary.txt
echo "done $(date -u +%T)" >> $out/order.txt
