#!/bin/bash
# alloc.sh <label> <serverdir> <outdir> [rate] [trace] : warm 1:1 (1,000 users, --chat-peers 1) at a fixed rate (default 300 msg/s;
# server on CPU 0, generator on CPU 1, durable SQLite). Once 500 messages are accepted, the server's own counters
# (dotnet_gc_heap_total_allocated_bytes, parley_messages_accepted, one /metrics page each) are read, and again at least
# 4,000 accepted messages later: allocation per accepted message = d(alloc)/d(accepted), background included.
# With "trace", an AllocationTick trace (dotnet-trace --clrevents gc --clreventlevel verbose, 12 s) is taken between the reads.
label=$1; srv=$2; out=$3; rate=${4:-300}; trace=$5; G=${G:-/tmp/perfw/gen/Parley.LoadTest.dll}; mkdir -p $out
freeport() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }
dir=$(mktemp -d /tmp/perfw-srv-XXXX); port=$(freeport); secret=$(openssl rand -hex 24)
Parley__Admin__Secret=$secret Parley__Storage__DataDirectory=$dir/data Parley__RateLimits__Enabled=false \
  Parley__Orleans__SiloPort=$(freeport) Parley__Orleans__GatewayPort=$(freeport) Parley__Messaging__MaxGroupMembers=2000 \
  taskset -c 0 dotnet $srv/Parley.Server.dll --urls http://127.0.0.1:$port > $dir/server.log 2>&1 &
spid=$!
for i in $(seq 600); do curl -sf http://127.0.0.1:$port/readyz > /dev/null && break; sleep 0.5; done
PARLEY_ADMIN_SECRET=$secret taskset -c 1 dotnet $G --server-url http://127.0.0.1:$port --server-pid $spid --runs 1 --warmup 1 --window 20 \
  --scenarios chat --targets parley --chat-peers 1 --chat-rates $rate,$rate,$rate,$rate,$rate,$rate --out $dir/gen.json > $out/$label.gen.log 2>&1 &
gpid=$!
sample() { curl -sf http://127.0.0.1:$port/metrics | awk '/^dotnet_gc_heap_total_allocated_bytes/{a=$2} /^parley_messages_accepted/ && m==""{m=$2} END{printf "%s %s\n", a, m}'; }
for i in $(seq 1200); do read a0 m0 < <(sample); [ -n "$m0" ] && [ "${m0%.*}" -ge 500 ] 2>/dev/null && break; sleep 0.5; done
t0=$(date +%s.%N)
if [ "$trace" = trace ]; then
  taskset -c 1 ~/.dotnet/tools/dotnet-trace collect -p $spid --clrevents gc --clreventlevel verbose --duration 00:00:00:12 -o $out/$label.nettrace > $out/$label.trace.log 2>&1
fi
for i in $(seq 600); do sleep 0.5; read a1 m1 < <(sample); [ "${m1%.*}" -ge $(( ${m0%.*} + 4000 )) ] 2>/dev/null && break; done
t1=$(date +%s.%N)
python3 -c "a0,m0,a1,m1,t0,t1=$a0,$m0,$a1,$m1,$t0,$t1; print(f'$label rate $rate: msgs {m1-m0:.0f} in {t1-t0:.1f} s: {(a1-a0)/(m1-m0)/1024:.2f} KB/msg')" | tee -a $out/results.txt
echo "   $(date -u +%T) $(uptime)" >> $out/results.txt
kill $gpid $spid 2>/dev/null; wait $spid 2>/dev/null; wait $gpid 2>/dev/null; rm -rf $dir
