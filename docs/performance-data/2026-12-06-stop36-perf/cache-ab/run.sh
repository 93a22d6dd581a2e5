#!/bin/bash
# run.sh <server dir> <out> [rounds, default 2] [minutes, default 3]: the writer-cache A/B of stop 36 (perf), interleaved, the
# order reversed every other round: benchmarks/scripts/soak-short.sh (1:1 random pairs among 2,000 users, 300 msg/s, server on
# CPU 1, generator on CPU 0, durable SQLite) with the writer's page cache at 65536 KiB (the old default, by environment),
# 16384 KiB (the new default) and 8192 KiB, perf record of the server at 120 s for 30 s. Then summary.py: server CPU ms per
# accepted message (ready -> end), bytes and read calls per message (/proc/<pid>/io), the pcache1TruncateUnsafe share.
# Stop 36 ran it (as /tmp/perf36/ab2.sh) on the base build 451b99a, 08:23-08:43 UTC, under load.
here=$(cd "$(dirname "$0")/../../.." && pwd)
srv=$1; out=$2; rounds=${3:-2}; mkdir -p $out
export G=${G:-$here/benchmarks/Parley.LoadTest/bin/Release/net10.0/Parley.LoadTest.dll} MINUTES=${4:-3} RATE=300 PERF_AT=120 PERF_SECS=30
for r in $(seq $rounds); do
  order="65536 16384 8192"; [ $((r % 2)) = 0 ] && order="8192 16384 65536"
  for c in $order; do
    echo "c$c r$r start $(date -u +%T) load $(cut -d' ' -f1-3 /proc/loadavg)" >> $out/order.txt
    nice -n 10 bash $here/benchmarks/scripts/soak-short.sh $out c$c-r$r $srv/Parley.Server.dll Parley__Storage__Sqlite__WriterCacheSizeKb=$c > $out/c$c-r$r.out 2>&1
  done
done
python3 $here/docs/performance-data/2026-12-06-stop36-perf/cache-ab/summary.py $out | sort
