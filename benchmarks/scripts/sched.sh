#!/bin/bash
# sched.sh <outdir> <label> <server dll> [NAME=VALUE...] : how long the server's threads wait for a CPU during a warm 1:1
# step at a fixed rate (RATE, default 2100 msg/s, 20 s measured). `perf sched record` runs system-wide for 8 s from the
# generator's 10th second (the step's 6th or so); `perf sched latency` then gives, per thread, its runtime, switches, average and largest wait between
# being woken and running. Writes <outdir>/<label>.{log,json,latency.txt,threads.txt}; the raw perf file is deleted.
source "$(dirname "$0")/lib.sh"
out=$1; label=$2; dll=$3; shift 3; mkdir -p $out
start_server $dll $out/$label.server.log Parley__Messaging__MaxGroupMembers=2000 "$@"
wait_ready
PARLEY_ADMIN_SECRET=$secret timeout 600 taskset -c 1 dotnet $G --server-url http://127.0.0.1:$port --server-pid $spid --runs 1 \
    --warmup 3 --window 20 --scenarios chat --targets parley --chat-peers 1 --chat-rates ${RATE:-2100} \
    --out $out/$label.json > $out/$label.log 2>&1 &
gen=$!
# the generator's user set-up and logins take 1-3 s on a quiet machine, then 3 s of warm-up: record from the 10th second
sleep 10
ls /proc/$spid/task | while read t; do echo "$t $(cat /proc/$spid/task/$t/comm)"; done > $out/$label.threads.txt
perf sched record -a -o $out/$label.sched.data -- sleep 8 > /dev/null 2>&1
wait $gen
stop_server
perf sched latency -p -i $out/$label.sched.data --sort max 2>/dev/null > $out/$label.latency.all.txt
# keep the server's threads only (by tid)
python3 - $out/$label.threads.txt $out/$label.latency.all.txt > $out/$label.latency.txt <<'PY'
import re, sys
tids = {l.split()[0] for l in open(sys.argv[1]) if l.strip()}
for line in open(sys.argv[2]):
    m = re.match(r'\s*(.+?):(\d+)\s*\|', line)
    if m and m.group(2) in tids:
        print(line.rstrip())
PY
rm -f $out/$label.sched.data
grep 'ramp' $out/$label.log | grep -o 'acks.*p99 [0-9.]* ms'
head -15 $out/$label.latency.txt
