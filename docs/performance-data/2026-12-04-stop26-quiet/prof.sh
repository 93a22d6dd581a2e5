#!/bin/bash
# prof.sh <label> <server dll> : warm 1:1 at a fixed 1,200 msg/s, a 20 s CPU-sampling trace of the server mid-run.
label=$1; dll=$2; out=/tmp/ab26/prof; mkdir -p $out
G=/tmp/ci2/benchmarks/Parley.LoadTest/bin/Release/net10.0/Parley.LoadTest.dll
freeport() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }
dir=$(mktemp -d /tmp/prof-srv-XXXX); port=$(freeport); secret=$(openssl rand -hex 24)
cd $(dirname $dll)
Parley__Admin__Secret=$secret Parley__Storage__DataDirectory=$dir/data Parley__RateLimits__Enabled=false \
  Parley__Orleans__SiloPort=$(freeport) Parley__Orleans__GatewayPort=$(freeport) \
  taskset -c 0 dotnet $dll --urls http://127.0.0.1:$port > $dir/server.log 2>&1 &
spid=$!
for i in $(seq 600); do curl -sf http://127.0.0.1:$port/readyz > /dev/null && break; sleep 0.5; done
cd /tmp
PARLEY_ADMIN_SECRET=$secret taskset -c 1 dotnet $G --server-url http://127.0.0.1:$port --server-pid $spid --runs 1 --warmup 1 --window 10 \
  --scenarios chat --targets parley --chat-peers 1 --chat-rates 1200,1200,1200,1200,1200,1200 --out $dir/gen.json > $out/$label.gen.log 2>&1 &
gpid=$!
sleep 25
~/.dotnet/tools/dotnet-trace collect -p $spid --profile dotnet-sampled-thread-time --duration 00:00:00:20 -o $out/$label.nettrace > $out/$label.trace.log 2>&1 || \
  ~/.dotnet/tools/dotnet-trace collect -p $spid --profile cpu-sampling --duration 00:00:00:20 -o $out/$label.nettrace >> $out/$label.trace.log 2>&1
kill $gpid $spid 2>/dev/null; wait $spid 2>/dev/null; rm -rf $dir
