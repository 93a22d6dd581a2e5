#!/bin/bash
# quiet.sh <base server dir> <new server dir> : issue 17 (stop 43, tail): what the slow messages of a steady load wait for,
# each run through benchmarks/scripts/stall-timeline.sh with GCTRACE=1 (every message's send/ack/delivery, every fsync of
# every process, the disk's requests, the kernel's writeback and reclaim counters and the server's GC pauses, all on
# CLOCK_MONOTONIC), 15 s windows (WINDOW), base and new interleaved:
#   random pairs among 1,000 users at 1,000 msg/s (RATE_RANDOM) with the image's GC setting (DOTNET_GCgen0size=0x800000):
#     base, new; then with the runtime's own gen0 sizing (the setting unset, as stop 42's sweep ran): new, base;
#   fixed pairs at 4,500 msg/s (RATE_FIXED, half of the fixed-pair saturation), the image's GC setting: new, base.
# OUT (default /tmp/q43tail) gets the runs; summary.txt at the end: per run p50/p99/p99.9/max, the WAL and parley.db fsync
# distributions, the slow messages by what their episode held, where the long WAL fsyncs' time went, and the GC pauses;
# `grep 'msgs worst' OUT/*.report` lists the episodes with the GC pauses in them. The perf.data files are deleted after
# each analysis (KEEP=1 keeps them). G: the generator (default: this checkout's Release build). About 50 s a run.
here=$(cd "$(dirname "$0")" && pwd); scripts=$here/../../../benchmarks/scripts
base=$1; new=$2; out=${OUT:-/tmp/q43tail}; mkdir -p $out
run() { # label dir kind gc
  local label=$1 dir=$2 kind=$3 gc=$4 e=DOTNET_GCgen0size=0x800000
  [ $gc = rtgc ] && e=PARLEY_Q43=rtgc
  echo "== $label $kind $gc $(date -u +%H:%M:%S) $(uptime)" | tee -a $out/uptime.txt
  if [ $kind = r1k ]; then
    GCTRACE=1 RATE=${RATE_RANDOM:-1000} PEERS=0 USERS=1000 WINDOW=${WINDOW:-15} bash $scripts/stall-timeline.sh $out $label-$kind-$gc $dir/Parley.Server.dll $e > /dev/null 2>&1
  else
    GCTRACE=1 RATE=${RATE_FIXED:-4500} PEERS=1 SRVPERF=0 WINDOW=${WINDOW:-15} bash $scripts/stall-timeline.sh $out $label-$kind-$gc $dir/Parley.Server.dll $e > /dev/null 2>&1
  fi
  [ "${KEEP:-0}" = 1 ] || rm -f $out/$label-$kind-$gc.{sys,srv}.perf $out/$label-$kind-$gc.{sys,srv}.txt $out/$label-$kind-$gc.gc.nettrace
}
run base $base r1k img; run new $new r1k img; run new $new r1k rtgc; run base $base r1k rtgc; run new $new f4500 img; run base $base f4500 img
for f in $out/*.report; do
  echo "## $(basename $f .report)"
  grep -E "^delivery:|fsync (wal|db) by|slow messages by|WAL syncs >= 20|overlapping a parley.db|overlapping another|where most of their time went" $f
  grep -E "^pauses|  gen[01] " ${f%.report}.gc.txt
  echo "episodes $(grep -c 'msgs worst' $f), with a GC pause in them $(grep -c '| GC gen' $f)"
done | tee $out/summary.txt
