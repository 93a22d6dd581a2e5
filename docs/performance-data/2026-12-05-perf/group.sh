#!/bin/bash
# group.sh <label> <serverdir> <outdir> [rate] : the generator's group scenario (500 members all online, one sender) at a
# fixed low rate (default 10 msg/s = 5,000 deliveries/s), three 10 s windows; prints the server's allocation per group
# message (server_alloc_bytes_per_msg: Δdotnet_gc_heap_total_allocated_bytes / messages sent in the window) of each.
label=$1; srv=$2; out=$3; rate=${4:-10}; G=${G:-/tmp/perfw/gen/Parley.LoadTest.dll}; mkdir -p $out
freeport() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }
dir=$(mktemp -d /tmp/perfw-srv-XXXX); port=$(freeport); secret=$(openssl rand -hex 24)
Parley__Admin__Secret=$secret Parley__Storage__DataDirectory=$dir/data Parley__RateLimits__Enabled=false \
  Parley__Orleans__SiloPort=$(freeport) Parley__Orleans__GatewayPort=$(freeport) Parley__Messaging__MaxGroupMembers=2000 \
  taskset -c 0 dotnet $srv/Parley.Server.dll --urls http://127.0.0.1:$port > $dir/server.log 2>&1 &
spid=$!
for i in $(seq 600); do curl -sf http://127.0.0.1:$port/readyz > /dev/null && break; sleep 0.5; done
PARLEY_ADMIN_SECRET=$secret taskset -c 1 dotnet $G --server-url http://127.0.0.1:$port --server-pid $spid --runs 1 --warmup 2 --window 10 \
  --scenarios group --targets parley --group-size 500 --group-rates $rate,$rate,$rate --out $out/$label.json > $out/$label.gen.log 2>&1
kill $spid 2>/dev/null; wait $spid 2>/dev/null; rm -rf $dir
python3 - $out/$label.json $label <<'PY' | tee -a $out/results.txt
import json,sys
d=json.load(open(sys.argv[1])); steps=d.get('Steps') or d.get('steps') or d
vals=[]
def walk(x):
    if isinstance(x,dict):
        m=x.get('Metrics') or x.get('metrics')
        if isinstance(m,dict) and 'server_alloc_bytes_per_msg' in m: vals.append((m['server_alloc_bytes_per_msg'],m.get('delivery_ratio'),m.get('lost')))
        for v in x.values(): walk(v)
    elif isinstance(x,list):
        for v in x: walk(v)
walk(d)
print(sys.argv[2], 'KB per group message (delivery ratio, lost):', ' · '.join(f'{a/1024:.1f} ({r:.3f}, {l:.0f})' for a,r,l in vals))
PY
echo "   $(date -u +%T) $(uptime)" >> $out/results.txt
