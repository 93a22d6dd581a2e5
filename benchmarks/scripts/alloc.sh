#!/bin/bash
# alloc.sh <label> <server dll> <outdir> [rate] [trace seconds] : the server's allocation per accepted 1:1 message, from
# its own counters. The server (lib.sh: CPU 0, durable SQLite, rate limits off, MaxGroupMembers 2000, started in the
# current directory) and the generator on CPU 1: warm 1:1 (`chat`, --chat-peers 1, USERS users, default the generator's
# 1,000, --every-step) at a fixed rate (default 300 msg/s) for as long as the reads need; PEERS=0: random pairs
# (--chat-peers 0, most messages opening a conversation) instead of fixed ones. The line also has the server's CPU ms per
# message between the two reads (its user + system ticks). Once FROM (default 500)
# messages were accepted, the server's /metrics is read (dotnet_gc_heap_total_allocated_bytes and
# parley_messages_accepted, from one page), and again once SPAN (default 4,000) more were accepted: KB per message =
# Δallocated / Δaccepted, background included, appended to <outdir>/results.txt with the time and `uptime`.
# With trace seconds: right after the first read, that many seconds of `dotnet-trace collect --clrevents gc
# --clreventlevel verbose` (GC AllocationTick: one sample per ~100 KB allocated, with its stack) into
# <outdir>/<label>.nettrace; the second read follows (SPAN=0: at once, so the figure covers the trace), and
# alloc-sites.cs (built once into /tmp/parley-alloc-sites, or A=<its dll>) writes the samples by type, site, frame and
# stack, scaled to KB per message, into <outdir>/<label>.sites.txt.
# SCENARIO=group: the generator's `group` scenario instead (500 members all online, one sender) at a fixed rate (default
# 10 msg/s), three 10 s windows; the generator's server_alloc_bytes_per_msg of each window (Δallocated / messages sent in
# it), with its delivery ratio and lost count.
# SCENARIO=freshlogin: the generator's `freshlogin` scenario (USERS new devices, default 3,000, each syncing 10 groups of 50
# with 20 messages; GARGS more generator options) instead; the figure is the generator's server_alloc_kb_per_login (Δallocated
# over the logins / logins), and with trace seconds the trace starts once FROM (default 100) connections are open (the
# logins, after the seeding; with --login-warmup in GARGS, in the measured wave) and alloc-sites.cs scales its samples to KB
# per login.
# Env: G (generator dll), USERS, FROM, SPAN, SCENARIO, TRACE (dotnet-trace), A (analyzer dll), GARGS (freshlogin only),
# SRVENV (server settings, NAME=VALUE separated by spaces, e.g. Parley__Messaging__OneWaySend=true).
# The earlier runs: stop 26 `alloc.sh <label> <dll> <out> 60` with FROM=300 SPAN=2000; 2026-12-05-perf `alloc.sh <label>
# <dll> <out> <rate> [12]`; stop 29 `alloc.sh <label> <dll> <out> 400 40` with USERS=200 FROM=3000 SPAN=0.
source "$(dirname "$0")/lib.sh"
label=$1; dll=$2; out=$3; secs=${5:-0}; mkdir -p $out
from=${FROM:-500}; span=${SPAN:-4000}; trace=${TRACE:-$HOME/.dotnet/tools/dotnet-trace}

# alloc_sites: the analyzer's dll in A, built from alloc-sites.cs outside the repository (lib.sh's trace_tool) when needed.
alloc_sites() {
  [ -n "$A" ] && return
  trace_tool alloc-sites $here/alloc-sites.cs; A=$TOOL
}

start_server $dll "" Parley__Messaging__MaxGroupMembers=2000 $SRVENV
wait_ready

if [ "$SCENARIO" = group ]; then
  rate=${4:-10}
  PARLEY_ADMIN_SECRET=$secret taskset -c 1 dotnet $G --server-url http://127.0.0.1:$port --server-pid $spid --runs 1 --warmup 2 --window 10 \
    --scenarios group --targets parley --group-size 500 --group-rates $rate,$rate,$rate --out $out/$label.json > $out/$label.gen.log 2>&1
  stop_server
  python3 - $out/$label.json $label <<'PY' | tee -a $out/results.txt
import json, sys
vals = []
def walk(x):
    if isinstance(x, dict):
        m = x.get('Metrics') or x.get('metrics')
        if isinstance(m, dict) and 'server_alloc_bytes_per_msg' in m: vals.append((m['server_alloc_bytes_per_msg'], m.get('delivery_ratio'), m.get('lost')))
        for v in x.values(): walk(v)
    elif isinstance(x, list):
        for v in x: walk(v)
walk(json.load(open(sys.argv[1])))
print(sys.argv[2], 'KB per group message (delivery ratio, lost):', ' · '.join(f'{a/1024:.1f} ({r:.3f}, {l:.0f})' for a, r, l in vals))
PY
  echo "   $(date -u +%T) $(uptime)" >> $out/results.txt
  exit 0
fi

if [ "$SCENARIO" = freshlogin ]; then
  PARLEY_ADMIN_SECRET=$secret taskset -c 1 dotnet $G --server-url http://127.0.0.1:$port --server-pid $spid --runs 1 --scenarios freshlogin \
    --targets parley --login-users ${USERS:-3000} --fresh-conversations 10 --fresh-messages 20 --fresh-group-size 50 $GARGS \
    --out $out/$label.json > $out/$label.gen.log 2>&1 &
  gpid=$!
  if [ "$secs" -gt 0 ]; then
    conns() { curl -sf http://127.0.0.1:$port/metrics | awk '/^parley_gateway_connections/{s+=$NF} END{print s+0}'; }
    if [[ "$GARGS" == *--login-warmup* ]]; then
      # The warm-up wave's connections count too: wait for its end and its sessions' close first (as prof-login.sh).
      for i in $(seq 4800); do grep -q 'warm-up r' $out/$label.gen.log 2>/dev/null && break; sleep 0.25; done
      for i in $(seq 2400); do c=$(conns); [ "${c%.*}" -lt ${FROM:-100} ] 2>/dev/null && break; sleep 0.25; done
    fi
    for i in $(seq 2400); do c=$(conns); [ "${c%.*}" -ge ${FROM:-100} ] 2>/dev/null && break; sleep 0.25; done
    taskset -c 1 $trace collect -p $spid --clrevents gc --clreventlevel verbose --duration 00:00:00:$secs -o $out/$label.nettrace > $out/$label.trace.log 2>&1
  fi
  wait $gpid; stop_server
  line=$(grep 'fresh logins' $out/$label.gen.log)
  kb=$(echo "$line" | sed -n 's/.*alloc \([0-9.]*\) KB\/login.*/\1/p')
  echo "$label: ${line#*] }" | tee -a $out/results.txt
  echo "   $(date -u +%T) $(uptime)" >> $out/results.txt
  if [ "$secs" -gt 0 ] && [ -n "$kb" ]; then
    alloc_sites
    [ -n "$A" ] && taskset -c 1 dotnet $A $out/$label.nettrace $kb 12 > $out/$label.sites.txt 2>&1
  fi
  exit 0
fi

rate=${4:-300}
steps=$(( ((from + span) / rate + secs + 60) / 10 + 2 )); rates=$(printf "$rate,%.0s" $(seq $steps)); rates=${rates%,}
PARLEY_ADMIN_SECRET=$secret taskset -c 1 dotnet $G --server-url http://127.0.0.1:$port --server-pid $spid --runs 1 --warmup 1 --window 10 \
  --scenarios chat --targets parley --chat-peers ${PEERS:-1} ${USERS:+--chat-users $USERS} --every-step --chat-rates $rates --out $out/$label.gen.json > $out/$label.gen.log 2>&1 &
gpid=$!
sample() { curl -sf http://127.0.0.1:$port/metrics | awk '/^dotnet_gc_heap_total_allocated_bytes/{a=$2} /^parley_messages_accepted/ && m==""{m=$2} END{printf "%s %s\n", a, m}'; }
for i in $(seq 1200); do read a0 m0 < <(sample); [ -n "$m0" ] && [ "${m0%.*}" -ge $from ] 2>/dev/null && break; sleep 0.5; done
t0=$(date +%s.%N); c0=$(cpu_ticks)
if [ "$secs" -gt 0 ]; then
  taskset -c 1 $trace collect -p $spid --clrevents gc --clreventlevel verbose --duration 00:00:00:$secs -o $out/$label.nettrace > $out/$label.trace.log 2>&1
fi
for i in $(seq 600); do read a1 m1 < <(sample); [ "${m1%.*}" -ge $(( ${m0%.*} + span )) ] 2>/dev/null && break; sleep 0.5; done
t1=$(date +%s.%N); c1=$(cpu_ticks)
kb=$(python3 -c "print(f'{($a1-$a0)/($m1-$m0)/1024:.3f}')")
echo "$label rate $rate: $(python3 -c "print(f'{$m1-$m0:.0f} messages in {$t1-$t0:.1f} s')"), $kb KB/msg, $(python3 -c "print(f'{($c1-$c0)*10/($m1-$m0):.3f}')") ms CPU/msg" | tee -a $out/results.txt
echo "   $(date -u +%T) $(uptime)" >> $out/results.txt
kill $gpid 2>/dev/null; stop_server; wait $gpid 2>/dev/null
if [ "$secs" -gt 0 ]; then
  alloc_sites
  [ -n "$A" ] && taskset -c 1 dotnet $A $out/$label.nettrace $kb 12 > $out/$label.sites.txt 2>&1
fi
