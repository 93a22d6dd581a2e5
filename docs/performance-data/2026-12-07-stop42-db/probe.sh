#!/bin/bash
# probe.sh <pid> <out> <every s> : per-thread /proc io + db/wal sizes every N s
pid=$1; out=$2; every=${3:-10}; dbdir=$4
t=0
while kill -0 $pid 2>/dev/null; do
  { echo "T $t $(date -u +%T) $(awk '{print $14+$15}' /proc/$pid/stat) $(ls -l $dbdir/parley.db $dbdir/parley.db-wal 2>/dev/null | awk '{printf "%s=%s ", $9, $5}')"
    for d in /proc/$pid/task/*; do c=$(cat $d/comm 2>/dev/null); io=$(awk '{printf "%s ", $2}' $d/io 2>/dev/null); st=$(awk '{print $14+$15}' $d/stat 2>/dev/null); echo "t ${d##*/} [$c] $io $st"; done; } >> $out
  sleep $every; t=$((t+every))
done
