#!/bin/bash
# perfprof.sh <label> <server dll> [rate] [scenario] : warm 1:1 at a fixed rate (default 1500 msg/s; 1,000 users, one peer
# each) through the native protocol (scenario chat, the default) or the OpenIM edge (openim: the edge switched on); 25 s
# in, a 20 s `perf record` (on-CPU samples, perf map for JIT frames) of the server and its CPU ticks over those 20 s.
# Server on CPU 0 started from its own folder, generator on CPU 1. Env: OUT (default /tmp/perfprof), G, GARGS (more
# generator options), SYMBOLS=1 (also DOTNET_EnableWriteXorExecute=0, so JIT frames resolve by name), SRVENV (more
# NAME=VALUE server settings, space-separated). cpu.txt also has the event frames the server handed to outboxes in the
# window (parley_delivery_frames_total) and the server's CPU µs per frame (a group scenario's deliveries).
# Writes $OUT/<label>.{gen.json,gen.log,perf.data,perf.log,cpu.txt,perf-<pid>.map}.
source "$(dirname "$0")/lib.sh"
label=$1; dll=$(realpath $2); rate=${3:-1500}; scen=${4:-chat}; out=${OUT:-/tmp/perfprof}; mkdir -p $out
oim=$(openssl rand -hex 32); edge=()
[ $scen = openim ] && edge=(Parley__OpenIM__Enabled=true Parley__OpenIM__Secret=$oim Parley__OpenIM__ApiPort=0 Parley__OpenIM__WsPort=0)
cd $(dirname $dll)
start_server $dll "" DOTNET_PerfMapEnabled=1 ${SYMBOLS:+DOTNET_EnableWriteXorExecute=0} "${edge[@]}" $SRVENV
wait_ready
cd /tmp
PARLEY_OPENIM_SECRET=$oim PARLEY_ADMIN_SECRET=$secret taskset -c 1 dotnet $G --server-url http://127.0.0.1:$port --server-pid $spid --runs 1 --warmup 1 --window 10 \
  --scenarios $scen --targets parley --chat-peers 1 $GARGS --chat-rates $rate,$rate,$rate,$rate,$rate,$rate --out $out/$label.gen.json > $out/$label.gen.log 2>&1 &
gpid=$!
sleep 25
frames() { curl -s -H "Authorization: Bearer $secret" http://127.0.0.1:$port/metrics | awk '/^parley_delivery_frames_total/ {print $2}'; }
f0=$(frames)
s0=$(cpu_ticks)
taskset -c 1 perf record -F 997 -g -p $spid -o $out/$label.perf.data -- sleep 20 > $out/$label.perf.log 2>&1
s1=$(cpu_ticks)
f1=$(frames)
echo "cpu_ticks_20s=$((s1-s0))" > $out/$label.cpu.txt
# parley_delivery_frames_total: event frames handed to outboxes in the window (about 20 s: two /metrics reads around it).
echo "frames_20s=$((${f1:-0}-${f0:-0})) us_per_frame=$(python3 -c "print(round(($s1-$s0)*1e4/max(${f1:-0}-${f0:-0},1),3))")" >> $out/$label.cpu.txt
cp /tmp/perf-$spid.map $out/$label.perf-$spid.map 2>/dev/null
echo "pid=$spid" >> $out/$label.cpu.txt
wait $gpid
stop_server
