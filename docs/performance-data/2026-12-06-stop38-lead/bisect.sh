#!/bin/bash
# Stop 38 (lead): the 1:1 soak (as run.sh) on CI1's build with the runtimeconfig's UnfairSemaphoreSpinLimit line removed (/tmp/newspin: newrc-*) against it unchanged (new-*).
B=${B:-/tmp/ci38}
export G=/tmp/ci38/benchmarks/Parley.LoadTest/bin/Release/net10.0/Parley.LoadTest.dll MINUTES=2 RATE=300
for v in ${VARS:-newrc-def new-def}; do
  case $v in newrc-*) D=/tmp/newspin/Parley.Server.dll;; new-*) D=/tmp/ci38/src/Parley.Server/bin/Release/net10.0/Parley.Server.dll;; esac
  extra="Parley__Storage__Sqlite__SearchMergeShare=0.01"; case $v in *nofts) extra="Parley__Messaging__FullTextSearch=false";; esac
  echo "$v start $(date -u +%T) load $(cut -d' ' -f1-3 /proc/loadavg)" >> /tmp/q38/order.txt
  bash $B/benchmarks/scripts/soak-short.sh /tmp/q38/soak $v $D $extra > /tmp/q38/$v.out 2>&1
done
echo "bisect done $(date -u +%T)" >> /tmp/q38/order.txt
