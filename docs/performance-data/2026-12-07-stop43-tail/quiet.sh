#!/bin/bash
# quiet.sh <base server dir> <new server dir> : issue 17 (stop 43, tail): what the slow messages of a steady load wait for,
# base and new interleaved: random pairs among 1,000 users at 1,000 msg/s (RATE_RANDOM; base, new, then new, base), and fixed
# pairs at 4,500 msg/s (RATE_FIXED, about half of the fixed-pair saturation; new, base), 20 s windows, each run through
# benchmarks/scripts/stall-timeline.sh (every message's send/ack/delivery, every fsync of every process, the disk's requests,
# the kernel's writeback and reclaim counters, all on CLOCK_MONOTONIC; the server's pwrite64 only at 1,000/s). About 40-60 s a
# run, 6 runs: see COMMAND.md for the time it took. OUT (default /tmp/q43tail) gets the runs; summary.txt at the end:
# per run p50/p99/p99.9/max, the WAL fsync distribution, and the slow messages by what their episode held (a WAL fsync of
# 20 ms or more / the writer not syncing for 20 ms or more / neither). The perf.data files are deleted after each analysis
# (KEEP=1 keeps them). G: the generator (default: this checkout's Release build).
here=$(cd "$(dirname "$0")" && pwd); scripts=$here/../../../benchmarks/scripts
base=$1; new=$2; out=${OUT:-/tmp/q43tail}; mkdir -p $out
run() { # label dir kind
  local label=$1 dir=$2 kind=$3
  echo "== $label $kind $(date -u +%H:%M:%S) $(uptime)" | tee -a $out/uptime.txt
  if [ $kind = r1k ]; then
    RATE=${RATE_RANDOM:-1000} PEERS=0 USERS=1000 WINDOW=${WINDOW:-20} bash $scripts/stall-timeline.sh $out $label-$kind $dir/Parley.Server.dll > /dev/null 2>&1
  else
    RATE=${RATE_FIXED:-4500} PEERS=1 SRVPERF=0 WINDOW=${WINDOW:-20} bash $scripts/stall-timeline.sh $out $label-$kind $dir/Parley.Server.dll > /dev/null 2>&1
  fi
  [ "${KEEP:-0}" = 1 ] || rm -f $out/$label-$kind.sys.perf $out/$label-$kind.srv.perf $out/$label-$kind.srv.txt $out/$label-$kind.sys.txt
}
run base $base r1k; run new $new r1k; run new $new f4500; run base $base f4500; run new2 $new r1k; run base2 $base r1k
for f in $out/*.report; do
  echo "## $(basename $f .report)"
  grep -E "^delivery:|fsync (wal|db) by|slow messages by|WAL syncs >= 20|overlapping a parley.db|overlapping another|where most of their time went" $f
done | tee $out/summary.txt
