#!/bin/bash
# arena-ab.sh <out> <server dll> [label=NAME=VALUE|label=-]...: soak-short.sh once per label (in the order given) with the
# label's server environment ("-": none), and every 15 s the server's anonymous resident memory split into glibc malloc
# arenas (64 MiB-aligned mappings) and the rest (GC regions and other mmaps), and its SQLite connections (<label>.native).
# MINUTES (3), RATE (1000), USERS (2000), STEP (10); the image's DOTNET_GCgen0size=0x800000 always.
here=$(cd "$(dirname "$0")" && pwd); scripts=$here/../../../benchmarks/scripts
out=$1; dll=$2; shift 2; mkdir -p $out
for spec in "$@"; do
  label=${spec%%=*}; env=${spec#*=}; [ "$env" = - ] && env=
  ( for i in $(seq 600); do pid=$(awk -v l=$label '$1==l{print $7}' $out/runs.txt 2>/dev/null | tail -1); [ -n "$pid" ] && break; sleep 1; done
    while kill -0 $pid 2>/dev/null; do
      echo "$(date -u +%T) rss $(awk '/VmRSS/{print $2}' /proc/$pid/status) kB $(python3 $here/native-arenas.py $pid), $(ls -l /proc/$pid/fd 2>/dev/null | grep -c 'parley.db$') db connections" >> $out/$label.native
      sleep 15; done ) &
  MINUTES=${MINUTES:-3} RATE=${RATE:-1000} USERS=${USERS:-2000} STEP=${STEP:-10} bash $scripts/soak-short.sh $out $label $dll DOTNET_GCgen0size=0x800000 $env > $out/$label.summary.txt 2>&1
  rm -f $out/$label.server.log
  wait
done
for spec in "$@"; do label=${spec%%=*}; echo "== $label ($spec)"; cat $out/$label.native; grep -E 'soak r1\]' $out/$label.summary.txt | cut -c1-300; done | tee $out/table.txt
