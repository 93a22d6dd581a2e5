#!/bin/bash
# quiet.sh <base server dir> <new server dir> : issue 17 (stop 45, tail; ADR 0030): the p99 at half of saturation on new
# databases of 1 KiB and 2 KiB pages (Parley__Storage__Sqlite__PageSize on new) against 4 KiB (base45, and new's default),
# fixed pairs and random pairs, interleaved. Each run is benchmarks/scripts/stall-timeline.sh without the kernel traces
# (SYSPERF=0 SRVPERF=0), WINDOW (default 10) s after a 3 s warm-up, the image's DOTNET_GCgen0size=0x800000, server on CPU 0,
# generator on CPU 1, a new data directory each run:
#   fixed pairs at 6,900 msg/s (RATE_FIXED; stop 44's quiet half load): base; new-1k; new; new-1k traced; base; new-2k
#   random pairs among 1,000 users at 3,500 msg/s (RATE_RANDOM):         new-1k; base; new-1k; base
# "traced" = the server's send trace (stop 44) read by send-trace.py into <run>.hops: each hop's share of the slow messages'
# time (commit, waiting for the batch, waiting to be read...), on the quiet machine.
# The default of Parley:Storage:Sqlite:PageSize (4096) moves to 1024 only if new-1k's p99 is below base's and new's in
# both scenarios, every round (ADR 0030).
# OUT (default /tmp/q45tail); summary.txt at the end: each run's latency line, then the traced run's hop table. About 25 s a
# run on a quiet machine, 10 runs (~4.5 minutes). G: the generator (default: this checkout's Release build).
here=$(cd "$(dirname "$0")" && pwd); scripts=$here/../../../benchmarks/scripts
base=$1; new=$2; out=${OUT:-/tmp/q45tail}; mkdir -p $out
run() { # name dir kind trace [NAME=VALUE...]
  local name=$1 dir=$2 kind=$3 trace=$4; shift 4
  echo "== $name $(date -u +%H:%M:%S) $(uptime)" | tee -a $out/uptime.txt
  if [ $kind = fixed ]; then
    SENDTRACE=$trace SYSPERF=0 SRVPERF=0 RATE=${RATE_FIXED:-6900} PEERS=1 WINDOW=${WINDOW:-10} bash $scripts/stall-timeline.sh $out $name $dir/Parley.Server.dll DOTNET_GCgen0size=0x800000 "$@" > /dev/null 2>&1
  else
    SENDTRACE=$trace SYSPERF=0 SRVPERF=0 RATE=${RATE_RANDOM:-3500} PEERS=0 USERS=1000 WINDOW=${WINDOW:-10} bash $scripts/stall-timeline.sh $out $name $dir/Parley.Server.dll DOTNET_GCgen0size=0x800000 "$@" > /dev/null 2>&1
  fi
  [ "${KEEP:-0}" = 1 ] || rm -rf $out/$name.sendtrace $out/$name.meminfo $out/$name.tl
}
k1=Parley__Storage__Sqlite__PageSize=1024; k2=Parley__Storage__Sqlite__PageSize=2048
run base-fixed-1 $base fixed 0
run new1k-fixed-1 $new fixed 0 $k1
run new-fixed $new fixed 0
run new1k-fixed-traced $new fixed 1 $k1
run base-fixed-2 $base fixed 0
run new2k-fixed $new fixed 0 $k2
run new1k-random-1 $new random 0 $k1
run base-random-1 $base random 0
run new1k-random-2 $new random 0 $k1
run base-random-2 $base random 0
for n in base-fixed-1 base-fixed-2 new-fixed new1k-fixed-1 new1k-fixed-traced new2k-fixed base-random-1 base-random-2 new1k-random-1 new1k-random-2; do
  echo "## $n: $(grep 'ramp' $out/$n.log 2>/dev/null | head -1 | cut -d'|' -f2-5)"
  [ -f $out/$n.hops ] && grep -E "^\||slow messages|thread pool|^gaps between|^[0-9]+ messages joined" $out/$n.hops
done | tee $out/summary.txt
