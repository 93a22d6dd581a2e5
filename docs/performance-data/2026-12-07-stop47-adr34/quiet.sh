#!/bin/bash
# Stop 47, adr34: ADR 0034's quiet A/B (about 4 minutes; nothing else running). Usage:
#   NEW=<the CI's clean clone> BASE=/work/base47 bash $NEW/docs/performance-data/2026-12-07-stop47-adr34/quiet.sh [out]
# 1. WAL frames per warm message by B-tree: warm 1:1 fixed pairs (1,000 users, 500 conversations) at 2,000 msg/s through
#    perfprof.sh WALMAP=1 START=8 RT=1 (server and generator in SCHED_FIFO, RT=0 on a quiet machine; stop 45 derive's and stop 46 store's method), base, new, new, base. The rows to read:
#    the message's own B-trees (base: messages, the dedup index, ix_messages_conv_version; new: messages, the dedup index,
#    ix_messages_changed, ix_messages_anchor) and frames per message in all.
# 2. CPU ms per message with the server on CPU 0 and the generator on CPU 1 (alloc.sh, taskset): fixed pairs at 4,000 msg/s,
#    20,000 messages measured, new, base, base, new.
# summary.md in the output folder has every line. Both builds are driven by base's generator.
set -u
NEW=$(realpath ${NEW:?NEW=<new clone>}); BASE=$(realpath ${BASE:-/work/base47}); out=${1:-/tmp/q47adr34}; mkdir -p $out/cpu
here=$NEW/docs/performance-data/2026-12-07-stop47-adr34
export G=${G:-$BASE/benchmarks/Parley.LoadTest/bin/Release/net10.0/Parley.LoadTest.dll}
S=$NEW/benchmarks/scripts
dll() { echo $1/src/Parley.Server/bin/Release/net10.0/Parley.Server.dll; }
root() { case $1 in new*) echo $NEW;; *) echo $BASE;; esac; }
uptime | tee $out/uptime.txt
n=0
for b in base new new base; do
  n=$((n+1)); l=$b$n
  echo "== wal $l $(date -u +%T) load $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a $out/quiet.log
  OUT=$out WALMAP=1 RT=${RT:-1} START=${START:-8} bash $S/perfprof.sh $l $(dll $(root $b)) 2000 >> $out/quiet.log 2>&1
  rm -f $out/$l.perf.data $out/$l.walmap.trace
done
cd $out/cpu
export SRVENV=DOTNET_GCgen0size=0x800000
n=0
for b in new base base new; do
  n=$((n+1))
  echo "== cpu $b$n $(date -u +%T) load $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a $out/quiet.log
  FROM=2000 SPAN=20000 bash $S/alloc.sh $b-fixed $(dll $(root $b)) $out/cpu 4000 > /dev/null 2>&1
done
uptime | tee -a $out/uptime.txt
{
  echo "## WAL frames per warm message (perfprof.sh WALMAP=1 START=8 RT=1, fixed pairs at 2,000 msg/s)"
  python3 $here/summary.py $out/base1.walmap.txt $out/new2.walmap.txt $out/new3.walmap.txt $out/base4.walmap.txt
  echo
  for l in base1 new2 new3 base4; do echo "$l: $(grep -h 'us_per_frame\|cpu_ticks' $out/$l.cpu.txt 2>/dev/null | tr '\n' ' ')"; done
  echo; echo "## CPU ms per message (alloc.sh, server on CPU 0, fixed pairs at 4,000 msg/s)"
  grep -v '^ ' $out/cpu/results.txt
  python3 - $out/cpu/results.txt <<'PY'
import re, statistics, sys
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
