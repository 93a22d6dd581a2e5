#!/bin/bash
# trace.sh <label> <server dir> <outdir> [rate] [trace seconds] : where the server allocates on a warm 1:1 message.
# Server (Release, durable SQLite, rate limits off) on CPU 0, the generator on CPU 1: `chat`, 200 users, --chat-peers 1,
# a fixed rate (default 400 msg/s) for long enough. Once 3,000 messages were accepted (every one of the 200 conversations
# is open by then: senders are random),
# the server's counters (dotnet_gc_heap_total_allocated_bytes, parley_messages_accepted) are read, an AllocationTick trace
# (dotnet-trace --clrevents gc --clreventlevel verbose: one sample per ~100 KB allocated, with its stack) is taken for
# the given seconds (default 40), and the counters are read again; the analyzer (analyzer-Program.cs, TraceEvent 3.1.21)
# scales each site's share of the sampled bytes by the counters' KB per message over the trace.
# G = the generator dll, A = the analyzer dll.
label=$1; srv=$2; out=$3; rate=${4:-400}; secs=${5:-40}
G=${G:-/tmp/perf17/gen/Parley.LoadTest.dll}; A=${A:-/tmp/perf17/analyzer/bin/Release/net10.0/analyzer.dll}; mkdir -p $out
freeport() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }
dir=$(mktemp -d /tmp/perf17-srv-XXXX); port=$(freeport); secret=$(openssl rand -hex 24)
Parley__Admin__Secret=$secret Parley__Storage__DataDirectory=$dir/data Parley__RateLimits__Enabled=false \
  Parley__Orleans__SiloPort=$(freeport) Parley__Orleans__GatewayPort=$(freeport) Parley__Messaging__MaxGroupMembers=2000 \
  taskset -c 0 dotnet $srv/Parley.Server.dll --urls http://127.0.0.1:$port > $dir/server.log 2>&1 &
spid=$!
for i in $(seq 600); do curl -sf http://127.0.0.1:$port/readyz > /dev/null && break; sleep 0.5; done
steps=$(( (secs + 60) / 10 + 2 )); rates=$(printf "$rate,%.0s" $(seq $steps)); rates=${rates%,}
PARLEY_ADMIN_SECRET=$secret taskset -c 1 dotnet $G --server-url http://127.0.0.1:$port --server-pid $spid --runs 1 --warmup 1 --window 9 \
  --scenarios chat --targets parley --chat-users 200 --chat-peers 1 --every-step --chat-rates $rates --out $out/$label.trace-gen.json > $out/$label.trace-gen.log 2>&1 &
gpid=$!
sample() { curl -sf http://127.0.0.1:$port/metrics | awk '/^dotnet_gc_heap_total_allocated_bytes/{a=$2} /^parley_messages_accepted/ && m==""{m=$2} END{printf "%s %s\n", a, m}'; }
for i in $(seq 1200); do read a0 m0 < <(sample); [ -n "$m0" ] && [ "${m0%.*}" -ge 3000 ] 2>/dev/null && break; sleep 0.5; done
taskset -c 1 ~/.dotnet/tools/dotnet-trace collect -p $spid --clrevents gc --clreventlevel verbose --duration 00:00:00:$secs -o $out/$label.nettrace > $out/$label.trace.log 2>&1
read a1 m1 < <(sample)
kb=$(python3 -c "print(f'{($a1-$a0)/($m1-$m0)/1024:.3f}')")
echo "$label rate $rate: $(python3 -c "print(int($m1-$m0))") messages over the trace, $kb KB/msg by the counters; $(date -u +%T) $(uptime)" | tee -a $out/results.txt
kill $gpid $spid 2>/dev/null; wait $spid 2>/dev/null; wait $gpid 2>/dev/null; rm -rf $dir
taskset -c 1 dotnet $A $out/$label.nettrace $kb 12 > $out/$label.sites.txt 2>&1
