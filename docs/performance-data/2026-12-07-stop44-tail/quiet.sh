#!/bin/bash
# quiet.sh <base server dir> <new server dir> : issue 17 (stop 44, tail): where the slow messages of a steady half load wait,
# per message and hop by hop, from the generator's send to its receiver's read, and whether the socket reads' wait in the
# thread pool's queue is part of the tail (ADR 0023). Each run is benchmarks/scripts/stall-timeline.sh without the kernel
# traces (SYSPERF=0 SRVPERF=0), 15 s windows (WINDOW), the image's DOTNET_GCgen0size=0x800000:
#   fixed pairs at 6,900 msg/s (RATE_FIXED; half of stop 43's quiet fixed-pair saturation, 13,783), in this order:
#     base; new; inline; new traced; inline traced; inline; new
#   random pairs among 1,000 users at 3,500 msg/s (RATE_RANDOM; half of 7,019): new traced; base.
# "inline" = new with DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS=1: the socket engine's epoll thread runs the read (and
# write) continuations itself instead of queueing them to the thread pool, where under load they waited behind the work a
# group commit releases. "traced" = the server's send trace on (Parley:Gateway:SendTraceFile, new only: base has no such
# setting), read with the generator's timeline by send-trace.py into <run>.hops: each segment's distribution over all and
# over the slow messages (delivery > 40 ms) and its share of their time, the thread pool's queue in their windows, and the
# gaps between two frame reads. base against new: two builds whose send path differs only by the trace's null checks.
# OUT (default /tmp/q44tail); summary.txt at the end (each run's latency line, then the traced runs' reports). The trace
# files (~25 MB each) are deleted after their analysis (KEEP=1 keeps them). G: the generator (default: this checkout's
# Release build, whose timeline has each send's return). About 33 s a run, 9 runs.
here=$(cd "$(dirname "$0")" && pwd); scripts=$here/../../../benchmarks/scripts
base=$1; new=$2; out=${OUT:-/tmp/q44tail}; mkdir -p $out
run() { # label dir kind trace [NAME=VALUE...]
  local label=$1 dir=$2 kind=$3 trace=$4 name=$1-$3$([ $4 = 1 ] && echo -traced); shift 4
  echo "== $name $(date -u +%H:%M:%S) $(uptime)" | tee -a $out/uptime.txt
  if [ $kind = fixed ]; then
    SENDTRACE=$trace SYSPERF=0 SRVPERF=0 RATE=${RATE_FIXED:-6900} PEERS=1 WINDOW=${WINDOW:-15} bash $scripts/stall-timeline.sh $out $name $dir/Parley.Server.dll DOTNET_GCgen0size=0x800000 "$@" > /dev/null 2>&1
  else
    SENDTRACE=$trace SYSPERF=0 SRVPERF=0 RATE=${RATE_RANDOM:-3500} PEERS=0 USERS=1000 WINDOW=${WINDOW:-15} bash $scripts/stall-timeline.sh $out $name $dir/Parley.Server.dll DOTNET_GCgen0size=0x800000 "$@" > /dev/null 2>&1
  fi
  [ "${KEEP:-0}" = 1 ] || rm -f $out/$name.sendtrace $out/$name.meminfo
}
inl=DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS=1
run base $base fixed 0; run new1 $new fixed 0; run inline1 $new fixed 0 $inl
run new $new fixed 1; run inline $new fixed 1 $inl
run inline2 $new fixed 0 $inl; run new2 $new fixed 0
run new $new random 1; run base $base random 0
for n in base-fixed new1-fixed new2-fixed inline1-fixed inline2-fixed new-fixed-traced inline-fixed-traced new-random-traced base-random; do
  echo "## $n: $(grep 'ramp' $out/$n.log 2>/dev/null | head -1 | cut -d'|' -f2-5)"
  [ -f $out/$n.hops ] && grep -E "^\||slow messages|thread pool|sampler gaps|^gaps between|^[0-9]+ messages joined" $out/$n.hops
done | tee $out/summary.txt
