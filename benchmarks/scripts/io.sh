#!/bin/bash
# io.sh <label> <server dll> [rate] [NAME=VALUE...] : warm 1:1 at a fixed rate (default 2000 msg/s) with extra server
# settings; 25 s in, the server's /proc/<pid>/io, CPU ticks and stored messages over 20 s, per message, appended to
# $OUT/summary.txt (OUT default /tmp/io). Server on CPU 0 started from its own folder, generator on CPU 1. Env: G.
source "$(dirname "$0")/lib.sh"
label=$1; dll=$(realpath $2); rate=${3:-2000}; shift $(($# < 3 ? $# : 3)); out=${OUT:-/tmp/io}; mkdir -p $out
stored() { python3 -c "import sqlite3;print(sqlite3.connect('$dir/data/parley.db').execute('select count(*) from messages').fetchone()[0])"; }
cd $(dirname $dll)
start_server $dll "" "$@"
wait_ready
cd /tmp
PARLEY_ADMIN_SECRET=$secret taskset -c 1 dotnet $G --server-url http://127.0.0.1:$port --server-pid $spid --runs 1 --warmup 1 --window 10 \
  --scenarios chat --targets parley --chat-peers 1 --chat-rates $rate,$rate,$rate,$rate,$rate,$rate --out $out/$label.gen.json > $out/$label.gen.log 2>&1 &
gpid=$!
sleep 25
c0=$(stored); s0=$(cpu_ticks); cat /proc/$spid/io > $out/$label.io0
sleep 20
s1=$(cpu_ticks); cat /proc/$spid/io > $out/$label.io1; c1=$(stored)
python3 - $out/$label.io0 $out/$label.io1 $((s1-s0)) $((c1-c0)) $label <<'PY' | tee -a $out/summary.txt
import sys
a=dict(l.split(': ') for l in open(sys.argv[1]).read().split('\n') if l); b=dict(l.split(': ') for l in open(sys.argv[2]).read().split('\n') if l)
n=int(sys.argv[4]); t=int(sys.argv[3])
d={k:int(b[k])-int(a[k]) for k in a}
print(f"{sys.argv[5]:10s} n={n} cpu_ms/msg={t*10/n:.3f} rchar/msg={d['rchar']/n:.0f} wchar/msg={d['wchar']/n:.0f} syscr/msg={d['syscr']/n:.2f} syscw/msg={d['syscw']/n:.2f} write_bytes/msg={d['write_bytes']/n:.0f}")
PY
wait $gpid
grep -E "fsync|checkpoint" $dir/server.log | head -3
kill $spid 2>/dev/null; wait $spid 2>/dev/null; du -sh $dir/data; ls -la $dir/data | head; rm -rf $dir
