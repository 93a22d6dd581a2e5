#!/bin/bash
# idlecpu.sh <label> <dll> : login scenario, then server CPU ticks over 3 x 20 s of idle
label=$1; dll=$2
freeport() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }
dir=$(mktemp -d /tmp/idle-srv-XXXX); port=$(freeport); secret=$(openssl rand -hex 24)
Parley__Admin__Secret=$secret Parley__Storage__DataDirectory=$dir/data Parley__RateLimits__Enabled=false \
  Parley__Orleans__SiloPort=$(freeport) Parley__Orleans__GatewayPort=$(freeport) Parley__Messaging__MaxGroupMembers=2000 \
  dotnet $dll --urls http://127.0.0.1:$port > $dir/server.log 2>&1 &
spid=$!
for i in $(seq 600); do curl -sf http://127.0.0.1:$port/readyz > /dev/null && break; sleep 0.5; done
t0=$(awk '{print $14+$15}' /proc/$spid/stat); sleep 20; t1=$(awk '{print $14+$15}' /proc/$spid/stat)
echo "$label fresh idle: $((t1-t0)) ticks/20s"
PARLEY_ADMIN_SECRET=$secret dotnet /tmp/gen/Parley.LoadTest.dll --server-url http://127.0.0.1:$port --server-pid $spid --runs 1 --warmup 0 --scenarios login --targets parley --out /tmp/idle-$label.json > /tmp/idle-$label.log 2>&1
for k in 1 2 3; do t0=$(awk '{print $14+$15}' /proc/$spid/stat); sleep 20; t1=$(awk '{print $14+$15}' /proc/$spid/stat); echo "$label after login idle $k: $((t1-t0)) ticks/20s threads=$(ls /proc/$spid/task | wc -l)"; done
kill $spid; wait $spid 2>/dev/null; rm -rf $dir
