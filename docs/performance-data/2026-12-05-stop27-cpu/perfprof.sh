#!/bin/bash
# perfprof.sh <label> <server dll> [rate] : warm 1:1 at a fixed rate, 20 s `perf record` (on-CPU samples, perf map for JIT) of the server mid-run.
# SYMBOLS=1: also DOTNET_EnableWriteXorExecute=0, so JIT frames resolve by name (the 2,500 msg/s runs, sbase/smain).
label=$1; dll=$2; rate=${3:-1500}; out=/tmp/prof27; mkdir -p $out
G=/work/main/benchmarks/Parley.LoadTest/bin/Release/net10.0/Parley.LoadTest.dll
freeport() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }
dir=$(mktemp -d /tmp/prof-srv-XXXX); port=$(freeport); secret=$(openssl rand -hex 24)
cd $(dirname $dll)
env DOTNET_PerfMapEnabled=1 ${SYMBOLS:+DOTNET_EnableWriteXorExecute=0} Parley__Admin__Secret=$secret Parley__Storage__DataDirectory=$dir/data Parley__RateLimits__Enabled=false \
  Parley__Orleans__SiloPort=$(freeport) Parley__Orleans__GatewayPort=$(freeport) \
  taskset -c 0 dotnet $dll --urls http://127.0.0.1:$port > $dir/server.log 2>&1 &
spid=$!
for i in $(seq 600); do curl -sf http://127.0.0.1:$port/readyz > /dev/null && break; sleep 0.5; done
cd /tmp
PARLEY_ADMIN_SECRET=$secret taskset -c 1 dotnet $G --server-url http://127.0.0.1:$port --server-pid $spid --runs 1 --warmup 1 --window 10 \
  --scenarios chat --targets parley --chat-peers 1 --chat-rates $rate,$rate,$rate,$rate,$rate,$rate --out $out/$label.gen.json > $out/$label.gen.log 2>&1 &
gpid=$!
sleep 25
s0=$(awk '{print $14+$15}' /proc/$spid/stat)
taskset -c 1 perf record -F 997 -g -p $spid -o $out/$label.perf.data -- sleep 20 > $out/$label.perf.log 2>&1
s1=$(awk '{print $14+$15}' /proc/$spid/stat)
echo "cpu_ticks_20s=$((s1-s0))" > $out/$label.cpu.txt
cp /tmp/perf-$spid.map $out/$label.perf-$spid.map 2>/dev/null
echo "pid=$spid" >> $out/$label.cpu.txt
wait $gpid
kill $spid 2>/dev/null; wait $spid 2>/dev/null; rm -rf $dir
