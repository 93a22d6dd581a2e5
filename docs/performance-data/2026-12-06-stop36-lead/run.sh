#!/bin/bash
# Quiet runs of stop 36 (lead), after the clean-clone CI, on the CI's own Release build ($B).
# 1. commit-cost (search): the table queue (as before) against the memory queue and no search text, interleaved per round.
# 2. soak-short (1:1 random pairs among 2,000 users, 300 msg/s, 2 min, server on CPU 1, generator on CPU 0), three variants
#    interleaved, the order reversed in round 2: c64 = writer cache 64 MiB (the old default), c16 = 16 MiB (the new
#    default), nofts = 16 MiB with full-text search off (Parley__Messaging__FullTextSearch=false: no text queued, no index).
B=${B:-/tmp/ci36}; out=${OUT:-/tmp/q36}; mkdir -p $out
echo "commit-cost start $(date -u +%T) load $(cut -d' ' -f1-3 /proc/loadavg)" >> $out/order.txt
taskset -c 0 dotnet $B/benchmarks/Parley.Benchmarks/bin/Release/net10.0/Parley.Benchmarks.dll commit-cost --messages 4000 --rounds 5 --batches 1,4,16 --queues table,memory > $out/commit-cost.txt 2>&1
export G=$B/benchmarks/Parley.LoadTest/bin/Release/net10.0/Parley.LoadTest.dll MINUTES=${MINUTES:-2} RATE=300
cp -r $B/benchmarks/scripts $out/scripts
for r in 1 2; do
  order="c64 c16 nofts"; [ $r = 2 ] && order="nofts c16 c64"
  for v in $order; do
    case $v in
      c64) extra="Parley__Storage__Sqlite__WriterCacheSizeKb=65536";;
      c16) extra="Parley__Storage__Sqlite__WriterCacheSizeKb=16384";;
      nofts) extra="Parley__Storage__Sqlite__WriterCacheSizeKb=16384 Parley__Messaging__FullTextSearch=false";;
    esac
    echo "$v r$r start $(date -u +%T) load $(cut -d' ' -f1-3 /proc/loadavg)" >> $out/order.txt
    bash $out/scripts/soak-short.sh $out/soak $v-r$r $B/src/Parley.Server/bin/Release/net10.0/Parley.Server.dll $extra > $out/$v-r$r.out 2>&1
  done
done
python3 $B/docs/performance-data/2026-12-06-stop36-perf/cache-ab/summary.py $out/soak | sort > $out/soak-summary.txt
echo "done $(date -u +%T)" >> $out/order.txt
