#!/bin/bash
# quiet.sh <new root> <base root> <out>: stop 44 mem's quiet A/B (issue 17: the server's allocation per 1:1 message), about
# 4-5 minutes. alloc.sh (the server's own counters: dotnet_gc_heap_total_allocated_bytes over parley_messages_accepted; the
# server on CPU 0, the generator on CPU 1, durable SQLite, the image's DOTNET_GCgen0size=0x800000), builds interleaved:
#   fixed pairs (warm 1:1, 1,000 users, --chat-peers 1) at 4,000 msg/s, 20,000 messages measured: base, new, new, base;
#   random pairs among 1,000 users (--chat-peers 0, most messages open a conversation) at 1,000 msg/s, 8,000 measured:
#   new, base, base, new;
# then one AllocationTick trace of new per shape (10 s each, alloc-sites.cs: KB per message by type and site; TRACES=0: none).
# Prints the KB and CPU ms per message of every run, and the medians per build and shape. G = the generator (default new's).
set -u
new=$1; base=$2; out=$3; mkdir -p $out/fixed $out/random
export G=${G:-$new/benchmarks/Parley.LoadTest/bin/Release/net10.0/Parley.LoadTest.dll}
[ -z "${A:-}" ] && [ -f /tmp/parley-alloc-sites/bin/Release/net10.0/alloc-sites.dll ] && export A=/tmp/parley-alloc-sites/bin/Release/net10.0/alloc-sites.dll
S=$new/benchmarks/scripts
dll() { echo $1/src/Parley.Server/bin/Release/net10.0/Parley.Server.dll; }
root() { [ $1 = new ] && echo $new || echo $base; }
cd $out   # alloc.sh starts the server in the current directory (its log goes to the data directory it deletes)
uptime > uptime.txt
export SRVENV=DOTNET_GCgen0size=0x800000
for b in base new new base; do
  FROM=2000 SPAN=20000 bash $S/alloc.sh $b-fixed $(dll $(root $b)) $out/fixed 4000 > /dev/null 2>&1
done
for b in new base base new; do
  PEERS=0 FROM=1000 SPAN=8000 bash $S/alloc.sh $b-random $(dll $(root $b)) $out/random 1000 > /dev/null 2>&1
done
if [ "${TRACES:-1}" != 0 ]; then
  FROM=4000 SPAN=0 bash $S/alloc.sh new-fixed-sites $(dll $new) $out/fixed 4000 10 > /dev/null 2>&1
  PEERS=0 FROM=2000 SPAN=0 bash $S/alloc.sh new-random-sites $(dll $new) $out/random 1000 10 > /dev/null 2>&1
  rm -f $out/*/*.nettrace $out/*/*.etlx
fi
uptime >> uptime.txt
{
  for shape in fixed random; do
    echo "== $shape"; grep -v '^ ' $out/$shape/results.txt
    python3 - $out/$shape/results.txt <<'PY'
import re, statistics, sys
runs = {}
for line in open(sys.argv[1]):
    m = re.match(r'(\w+)-\w+ rate \d+: .*?, ([0-9.]+) KB/msg, ([0-9.]+) ms CPU/msg', line)
    if m and not line.split()[0].endswith('sites'): runs.setdefault(m.group(1), []).append((float(m.group(2)), float(m.group(3))))
for b, v in runs.items():
    print(f"{b}: median {statistics.median(k for k, _ in v):.3f} KB/msg, {statistics.median(c for _, c in v):.3f} ms CPU/msg ({len(v)} runs)")
PY
    for f in $out/$shape/*.sites.txt; do [ -f $f ] && { echo "-- $(basename $f): top types and sites"; sed -n '1,16p' $f; grep -A14 '^== by site' $f | cut -c1-220; }; done
  done
  echo "== uptime"; cat uptime.txt
} | tee $out/table.txt
