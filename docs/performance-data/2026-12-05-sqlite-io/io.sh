#!/bin/bash
# io.sh <label> <server dll> [rate] [extra env...]: fixed-rate warm 1:1; /proc/<pid>/io and CPU ticks over 20 s mid-run
label=$1; dll=$2; rate=${3:-2000}; shift 3; out=/tmp/io; 
G=/work/wt/lead/benchmarks/Parley.LoadTest/bin/Release/net10.0/Parley.LoadTest.dll
freeport() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }
dir=$(mktemp -d /tmp/io-srv-XXXX); port=$(freeport); secret=$(openssl rand -hex 24)
cd $(dirname $dll)
env "$@" Parley__Admin__Secret=$secret Parley__Storage__DataDirectory=$dir/data Parley__RateLimits__Enabled=false \
  Parley__Orleans__SiloPort=$(freeport) Parley__Orleans__GatewayPort=$(freeport) \
  taskset -c 0 dotnet $dll --urls http://127.0.0.1:$port > $dir/server.log 2>&1 &
spid=$!
for i in $(seq 600); do curl -sf http://127.0.0.1:$port/readyz > /dev/null && break; sleep 0.5; done
cd /tmp
PARLEY_ADMIN_SECRET=$secret taskset -c 1 dotnet $G --server-url http://127.0.0.1:$port --server-pid $spid --runs 1 --warmup 1 --window 10 \
  --scenarios chat --targets parley --chat-peers 1 --chat-rates $rate,$rate,$rate,$rate,$rate,$rate --out $out/$label.gen.json > $out/$label.gen.log 2>&1 &
gpid=$!
sleep 25
c0=$(python3 -c "import sqlite3;print(sqlite3.connect('$dir/data/parley.db').execute('select count(*) from messages').fetchone()[0])"); s0=$(awk '{print $14+$15}' /proc/$spid/stat); cat /proc/$spid/io > $out/$label.io0
sleep 20
s1=$(awk '{print $14+$15}' /proc/$spid/stat); cat /proc/$spid/io > $out/$label.io1; c1=$(python3 -c "import sqlite3;print(sqlite3.connect('$dir/data/parley.db').execute('select count(*) from messages').fetchone()[0])")
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
