#!/bin/bash
# quiet.sh <new checkout> <base checkout> <out>: stop 44, soak — one 2-minute soak per build (base, then new; about 5.5 minutes
# in all, nothing else running): 1:1 random pairs among 2,000 users at 2,000 msg/s, the image's DOTNET_GCgen0size, both
# builds driven by <new>'s generator, each server started from an empty working directory. At 40 s and 75 s SQLite's
# reads for 5 s by connection and B-tree (readmap.py; needs root for perf's uprobe on libc's pwrite64), at 100 s a gcdump.
# table.txt: per build the generator's minute lines (p50/p90/p99, RSS), KB read/written and CPU ms per message per minute
# (soak-io.py), the reads by connection, the live heap and OpenTelemetry's metric point arrays (gcdump).
set -u
NEW=$1; BASE=$2; OUT=$3
mkdir -p $OUT
srv() { echo $1/src/Parley.Server/bin/Release/net10.0/Parley.Server.dll; }
cd "$(mktemp -d)"
G=$NEW/benchmarks/Parley.LoadTest/bin/Release/net10.0/Parley.LoadTest.dll READS_AT=40,75 GCDUMP_AT=100 \
  SRVENV="DOTNET_GCgen0size=0x800000" MINUTES=2 RATE=2000 USERS=2000 STEP=10 \
  bash $NEW/benchmarks/scripts/soak-ab.sh $OUT base=$(srv $BASE) new=$(srv $NEW) > $OUT/ab.out 2>&1
{
  for l in base new; do
    echo "=== $l"
    grep -E '^\[parley soak r1( minute [0-9]+)?\] ' $OUT/$l.log | cut -c1-330
    python3 $NEW/benchmarks/scripts/soak-io.py $OUT/$l 60
    for at in 40 75; do echo "-- reads at $at s"; sed -n '1,8p' $OUT/$l.$at.reads.txt; done
    echo "-- live heap at 100 s"; head -2 $OUT/$l.100.gcdump.txt
    grep -E 'OpenTelemetry.Metrics.MetricPoint\[\]|VolatileNode<Orleans.Runtime.GrainId,Orleans.Caching' $OUT/$l.100.gcdump.txt
    echo "-- RSS (s:MB)"; awk '{printf "%s:%d ", $1, $3/1024} END {print ""}' $OUT/$l.rss
  done
} > $OUT/table.txt
cat $OUT/table.txt
