#!/bin/bash
# Stop 48, idle: the quiet A/B (about 4-5 minutes quiet; nothing else running). Usage:
#   NEW=<build root> [BASE=/work/base48] bash quiet.sh [out]
# 1. ADR 0035's count bound derived from the drain rate: stop 47 bound's overload (as its quiet.sh: 1:1 random pairs among
#    2,000 users offered RATE 14,000 msg/s, ~2x one core's saturation, one soak minute, server on CPU 1), LABELS (default
#    "base new"; "base-1 new-1 new-2 base-2" interleaves), its summary.py; then per build the bound in effect over the run
#    (parley_send_outstanding_limit: new only). Both builds driven by G (default BASE's generator).
# 2. ADR 0040 (deactivation waits for commits in flight) costs nothing per message: CPU ms (and KB) per message with the
#    server on CPU 0 and the generator on CPU 1 (alloc.sh, taskset), warm fixed pairs at 4,000 msg/s, 20,000 messages
#    measured, new base base new (CPU_ORDER).
set -u
NEW=$(realpath ${NEW:?NEW=<build root>}); BASE=$(realpath ${BASE:-/work/base48}); out=${1:-/tmp/q48idle}; mkdir -p $out/cpu
here=$(dirname "$(realpath "$0")")
S=$NEW/benchmarks/scripts
export G=${G:-$BASE/benchmarks/Parley.LoadTest/bin/Release/net10.0/Parley.LoadTest.dll} # the same generator for both builds
dll() { echo $1/src/Parley.Server/bin/Release/net10.0/Parley.Server.dll; }
root() { case $1 in new*) echo $NEW;; *) echo $BASE;; esac; }
uptime | tee $out/uptime.txt
if [ "${SKIP_OVERLOAD:-0}" != 1 ]; then
  echo "== overload $(date -u +%T) load $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a $out/quiet.log
  mkdir -p $out/overload
  for label in ${LABELS:-base new}; do
    echo "== overload $label $(date -u +%T) load $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a $out/quiet.log
    G=$G MINUTES=1 RATE=${RATE:-14000} USERS=2000 STEP=5 bash $S/soak-short.sh $out/overload $label $(dll $(root $label)) > $out/overload/$label.run.txt 2>&1
    rm -f $out/overload/$label.server.log
  done
  python3 $NEW/docs/performance-data/2026-12-07-stop47-bound/summary.py $out/overload ${LABELS:-base new} > $out/overload.txt
  python3 $here/limits.py $out/overload ${LABELS:-base new} >> $out/overload.txt
fi
if [ "${SKIP_CPU:-0}" != 1 ]; then
  cd $out/cpu
  n=0
  for b in ${CPU_ORDER:-new base base new}; do
    n=$((n+1))
    echo "== cpu $b$n $(date -u +%T) load $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a $out/quiet.log
    FROM=2000 SPAN=20000 bash $S/alloc.sh $b-fixed $(dll $(root $b)) $out/cpu 4000 > /dev/null 2>&1
  done
fi
uptime | tee -a $out/uptime.txt
{
  echo "## Overload (stop 47 bound's quiet.sh, random pairs among 2,000 users offered 14,000 msg/s, one minute)"
  cat $out/overload.txt 2>/dev/null
  echo; echo "## CPU ms per message (alloc.sh, server on CPU 0, fixed pairs at 4,000 msg/s)"
  grep -v '^ ' $out/cpu/results.txt 2>/dev/null
  python3 - $out/cpu/results.txt <<'PY'
import re, statistics, sys, os
if not os.path.exists(sys.argv[1]): sys.exit()
runs = {}
for line in open(sys.argv[1]):
    m = re.match(r'(\w+)-\w+ rate \d+: .*?, ([0-9.]+) KB/msg, ([0-9.]+) ms CPU/msg', line)
    if m: runs.setdefault(m.group(1), []).append((float(m.group(2)), float(m.group(3))))
for b, v in runs.items():
    print(f"{b}: median {statistics.median(k for k, _ in v):.3f} KB/msg, {statistics.median(c for _, c in v):.4f} ms CPU/msg ({len(v)} runs)")
PY
  echo; echo "## uptime"; cat $out/uptime.txt
} > $out/summary.md
cat $out/summary.md
