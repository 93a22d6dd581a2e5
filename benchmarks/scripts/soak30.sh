#!/bin/bash
# soak30.sh <out> <server dll> [NAME=VALUE...]: issue 17's soak, unattended: 1:1 random pairs among USERS (2000) at RATE
# (4750 msg/s: half of what one core sustains with random pairs since migration 30, stop 44's 9,364-10,795) for MINUTES (30),
# server on CPU 1 and generator on CPU 0 (soak-short.sh; the server's default idle ages: 2 min, 1:1 conversations 30 s; the
# image's DOTNET_GCgen0size 0x800000 unless GEN0SIZE),
# then soak30-summary.py: per minute delivered rate, p50/p99/p99.9, CPU, RSS, GC heap and committed, GC pause %, conversation
# grains active and deactivated, SQLite's KB read and written per message, the database's size; and each soak target
# met or missed (<out>/summary.txt). G: the generator (default this checkout's build). STEP (30): seconds between the
# /metrics and /proc samples. KEEP_PAGES=1 keeps the /metrics pages (<out>/soak.m/, ~0.2 MB each); by default they are
# deleted after the summary, as are the server's log (it may name users) and its data directory (soak-short.sh).
# Refuses to start without free space for the database: RATE x MINUTES x 60 x 2 KB + 2 GB (stop 45: 1.0-1.8 KB per message).
here=$(cd "$(dirname "$0")" && pwd)
out=$1; dll=$2; shift 2
[ -f "$dll" ] || { echo "soak30.sh: no server dll at '$dll'"; exit 2; }
MINUTES=${MINUTES:-30}; RATE=${RATE:-4750}; USERS=${USERS:-2000}
mkdir -p $out
need_kb=$(( RATE * MINUTES * 60 * 2 + 2 * 1048576 ))
free_kb=$(df -Pk /tmp | awk 'NR==2{print $4}')
if [ $free_kb -lt $need_kb ]; then echo "soak30.sh: /tmp has $((free_kb / 1048576)) GB free, the soak needs ~$((need_kb / 1048576)) GB"; exit 3; fi
echo "soak30 $(date -u +%FT%TZ): $MINUTES min at $RATE msg/s among $USERS users, $dll, load $(cut -d' ' -f1-3 /proc/loadavg), settings: ${*:-none}" | tee -a $out/runs.txt
MINUTES=$MINUTES RATE=$RATE USERS=$USERS STEP=${STEP:-30} bash $here/soak-short.sh $out soak $dll \
  DOTNET_GCgen0size=${GEN0SIZE:-0x800000} "$@" > $out/soak.generator.txt 2>&1
python3 $here/soak30-summary.py $out/soak --settle ${SETTLE:-5} --rate $RATE 2>&1 | tee $out/summary.txt
python3 $here/soak-io.py $out/soak 60 > $out/soak.io.txt 2>&1
rm -f $out/soak.server.log
[ "${KEEP_PAGES:-0}" = 1 ] || rm -rf $out/soak.m $out/soak.json.soak.r1.minute-*.metrics.txt
