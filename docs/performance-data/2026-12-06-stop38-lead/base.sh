#!/bin/bash
# Stop 38 (lead): the 1:1 soak (as run.sh) on the base build 4394c42 (/tmp/perf38/base), search on and off. B = the CI build holding the generator and scripts.
B=${B:-/tmp/ci38}
export G=/tmp/ci38/benchmarks/Parley.LoadTest/bin/Release/net10.0/Parley.LoadTest.dll MINUTES=2 RATE=300
D=/tmp/perf38/base/src/Parley.Server/bin/Release/net10.0/Parley.Server.dll
for v in ${VARS:-base-def base-nofts}; do
  extra="Parley__Storage__Sqlite__SearchMergeShare=0.01"; [ $v = base-nofts ] && extra="Parley__Messaging__FullTextSearch=false"
  echo "$v start $(date -u +%T) load $(cut -d' ' -f1-3 /proc/loadavg)" >> /tmp/q38/order.txt
  bash $B/benchmarks/scripts/soak-short.sh /tmp/q38/soak $v $D $extra > /tmp/q38/$v.out 2>&1
done
echo "base done $(date -u +%T)" >> /tmp/q38/order.txt
