#!/bin/bash
# prof-login.sh <label> <server dir> <out> [users] [scenario] (server env from $SRVENV): the generator's login (or freshlogin) scenario with many users
# against a server started here (CPU 0, durable SQLite, rate limits off, perf map on); once 300 connections are open,
# `perf record` samples CPU 0 for 6 s (one sample = 1 ms of CPU), filtered to the server by fold1.py. Generator on CPU 1.
label=$1; srv=$2; out=$3; users=${4:-12000}; scen=${5:-login}; G=${G:-/tmp/perfw/gen2/Parley.LoadTest.dll}; mkdir -p $out
freeport() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }
dir=$(mktemp -d /tmp/perfw-srv-XXXX); port=$(freeport); secret=$(openssl rand -hex 24)
echo "== $label start $(date -u +%T) $(uptime)" | tee -a $out/uptime.txt
env $SRVENV DOTNET_PerfMapEnabled=1 DOTNET_EnableWriteXorExecute=0 \
Parley__Admin__Secret=$secret Parley__Storage__DataDirectory=$dir/data Parley__RateLimits__Enabled=false \
  Parley__Orleans__SiloPort=$(freeport) Parley__Orleans__GatewayPort=$(freeport) Parley__Messaging__MaxGroupMembers=2000 \
  taskset -c 0 dotnet $srv/Parley.Server.dll --urls http://127.0.0.1:$port > $dir/server.log 2>&1 &
spid=$!
for i in $(seq 600); do curl -sf http://127.0.0.1:$port/readyz > /dev/null && break; sleep 0.5; done
PARLEY_ADMIN_SECRET=$secret taskset -c 1 dotnet $G --server-url http://127.0.0.1:$port --server-pid $spid --runs 1 \
  --scenarios $scen --targets parley --login-users $users --idle-seconds 1 --out $dir/gen.json > $out/$label.gen.log 2>&1 &
gpid=$!
conns() { curl -sf http://127.0.0.1:$port/metrics | awk '/^parley_gateway_connections/{s+=$NF} END{print s+0}'; }
for i in $(seq 2400); do c=$(conns); [ "${c%.*}" -ge 300 ] 2>/dev/null && break; sleep 0.25; done
taskset -c 1 perf record -e cpu-clock -c 1000000 -g -C 0 -o $dir/perf.data -- sleep 6 > $out/$label.perf.log 2>&1
echo "   connections at the perf start: $c; after: $(conns)" | tee -a $out/uptime.txt
wait $gpid
cp /tmp/perf-$spid.map $dir/ 2>/dev/null
taskset -c 1 perf script -i $dir/perf.data --pid $spid 2>/dev/null > $dir/perf.txt
python3 $(dirname $0)/fold1.py $dir/perf.txt 60 > $out/$label.cpu.txt
echo "== $label end $(date -u +%T) $(uptime)" | tee -a $out/uptime.txt
grep '^\[' $out/$label.gen.log
kill $spid 2>/dev/null; wait $spid 2>/dev/null; rm -rf $dir
