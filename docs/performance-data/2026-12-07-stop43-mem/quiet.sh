#!/bin/bash
# quiet.sh <new root> <base root> <out>: stop 43 mem's quiet A/B (issue 17, memory under a soak), about 5.5 minutes.
# One 2-minute soak per build, base first, then new (soak-short.sh: 1:1 random pairs among 2,000 users at 2,000 msg/s, half
# of the random-pair saturation; server on CPU 1, generator on CPU 0; the image's DOTNET_GCgen0size=0x800000; /metrics and
# RSS every 5 s; a gcdump at 100 s: the live heap after a full blocking collection, by type; every 15 s the server's malloc
# arenas against the rest of its anonymous memory and its SQLite connections, native-arenas.py). Prints per build: RSS per
# 30 s and its spread after 60 s, GC pause share and collections by generation, heap / gen2 fragmentation / committed after
# the last GC, the live heap and its largest types per conversation grain, the native samples and the generator's minute
# lines. G = the generator (default: new's). MINUTES, RATE, USERS, GCDUMP_AT override.
set -u
new=$1; base=$2; out=$3; mkdir -p $out
here=$(cd "$(dirname "$0")" && pwd)
export G=${G:-$new/benchmarks/Parley.LoadTest/bin/Release/net10.0/Parley.LoadTest.dll}
at=${GCDUMP_AT:-100}
uptime > $out/uptime.txt
for spec in base=$base new=$new; do
  label=${spec%%=*}; root=${spec#*=}
  ( for i in $(seq 600); do pid=$(awk -v l=$label '$1==l{print $7}' $out/runs.txt 2>/dev/null | tail -1); [ -n "$pid" ] && break; sleep 1; done
    while kill -0 $pid 2>/dev/null; do
      echo "$(date -u +%T) rss $(awk '/VmRSS/{print $2}' /proc/$pid/status 2>/dev/null) kB $(python3 $here/native-arenas.py $pid 2>/dev/null), $(ls -l /proc/$pid/fd 2>/dev/null | grep -c 'parley.db$') db connections" >> $out/$label.native
      sleep 15; done ) &
  sampler=$!
  MINUTES=${MINUTES:-2} RATE=${RATE:-2000} USERS=${USERS:-2000} STEP=5 GCDUMP_AT=$at \
    bash $new/benchmarks/scripts/soak-short.sh $out $label $root/src/Parley.Server/bin/Release/net10.0/Parley.Server.dll DOTNET_GCgen0size=0x800000 > $out/$label.summary.txt 2>&1
  rm -f $out/$label.server.log   # never kept (it may name users)
  wait $sampler
  uptime >> $out/uptime.txt
done
for label in base new; do
  echo "== $label"
  python3 $here/mem-summary.py $out/$label $at
  echo "native (every 15 s):"; cat $out/$label.native
  grep -E '^\[parley soak r1' $out/$label.summary.txt | sed 's/^\[parley soak r1 //' | cut -c1-420
done | tee $out/table.txt
