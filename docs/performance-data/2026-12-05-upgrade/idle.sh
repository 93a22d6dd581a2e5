#!/bin/bash
# idle.sh <label> <serverdir> <outdir> [users] (server env from $SRVENV, e.g. Parley__Gateway__DirectUpgrade=false): the generator's login scenario (users logins, 64 in flight, then 30 s idle;
# server on CPU 0, generator on CPU 1). A gcdump (forces a full blocking GC; dotnet-gcdump 10.0.750501) of the server
# before the generator starts and another once every connection is open and idle for 10 s: the managed heap per idle
# connection = d(heap)/users, by type (gcdump report). The generator's own idle_kb_per_conn (RSS) is in <label>.gen.log.
label=$1; srv=$2; out=$3; users=${4:-2000}; G=${G:-/tmp/perfw/gen2/Parley.LoadTest.dll}; mkdir -p $out
freeport() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }
dir=$(mktemp -d /tmp/perfw-srv-XXXX); port=$(freeport); secret=$(openssl rand -hex 24)
Parley__Admin__Secret=$secret Parley__Storage__DataDirectory=$dir/data Parley__RateLimits__Enabled=false \
  Parley__Orleans__SiloPort=$(freeport) Parley__Orleans__GatewayPort=$(freeport) Parley__Messaging__MaxGroupMembers=2000 \
  env $SRVENV taskset -c 0 dotnet $srv/Parley.Server.dll --urls http://127.0.0.1:$port > $dir/server.log 2>&1 &
spid=$!
for i in $(seq 600); do curl -sf http://127.0.0.1:$port/readyz > /dev/null && break; sleep 0.5; done
sleep 3
taskset -c 1 ~/.dotnet/tools/dotnet-gcdump collect -p $spid -o $out/$label.before.gcdump > /dev/null 2>&1
PARLEY_ADMIN_SECRET=$secret taskset -c 1 dotnet $G --server-url http://127.0.0.1:$port --server-pid $spid --runs 1 --warmup 1 --window 4 \
  --scenarios login --targets parley --login-users $users --idle-seconds 30 --out $dir/gen.json > $out/$label.gen.log 2>&1 &
gpid=$!
conns() { curl -sf http://127.0.0.1:$port/metrics | awk '/^parley_gateway_connections/{c=$2} END{print c+0}'; }
for i in $(seq 1200); do c=$(conns); [ "${c%.*}" -ge $users ] 2>/dev/null && break; sleep 0.5; done
sleep 10
taskset -c 1 ~/.dotnet/tools/dotnet-gcdump collect -p $spid -o $out/$label.idle.gcdump > /dev/null 2>&1
wait $gpid
kill $spid 2>/dev/null; wait $spid 2>/dev/null; rm -rf $dir
for f in before idle; do ~/.dotnet/tools/dotnet-gcdump report $out/$label.$f.gcdump > $out/$label.$f.txt 2>&1; done
python3 $(dirname $0)/gcdiff.py $out/$label $users 60 | tee -a $out/results.txt
grep '^\[' $out/$label.gen.log | tee -a $out/results.txt
