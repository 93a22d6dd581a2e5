#!/bin/bash
# counts.sh <outdir> <rounds> <rate> <label=serverdll>... : a 500-member group at one steady rate (msg/s, one sender,
# --raw-receivers), each build in turn per round (interleaved). 8 s into the step, 10 s of `perf stat` on the server:
# socket writes (sendmsg + sendto), futex calls, sched_yield calls and context switches, with the event frames the server
# handed to outboxes (parley_delivery_frames_total) and its CPU ticks over the same 10 s: per frame, what each costs.
# Counts are valid under load (the lead's note); the generator's p50/p99 of the step is printed too (under load: indicative).
# Env: G (generator dll; default this checkout's). Writes <outdir>/<label>-r<N>.{log,stat,frames} and counts.txt.
source "$(cd "$(dirname "$0")/../../../benchmarks/scripts" && pwd)/lib.sh"
out=$1; rounds=$2; rate=$3; shift 3; mkdir -p $out
frames() { curl -s -H "Authorization: Bearer $secret" http://127.0.0.1:$port/metrics | awk '/^parley_delivery_frames_total/ {print $2}'; }
for r in $(seq $rounds); do
  for pair in "$@"; do
    label=${pair%%=*}; dll=${pair#*=}
    start_server $dll /dev/null Parley__Messaging__MaxGroupMembers=2000
    wait_ready
    PARLEY_ADMIN_SECRET=$secret timeout 300 taskset -c 1 dotnet $G --server-url http://127.0.0.1:$port --server-pid $spid --runs 1 --warmup 3 --window 20 \
      --scenarios group --targets parley --group-size 500 --group-rates $rate --raw-receivers --out $out/$label-r$r.json > $out/$label-r$r.log 2>&1 &
    gpid=$!
    # the step starts after the logins (a few seconds); 8 s into it
    for i in $(seq 120); do grep -q 'raw receivers connected' $out/$label-r$r.log 2>/dev/null && break; sleep 0.5; done
    sleep 8
    f0=$(frames); t0=$(cpu_ticks)
    taskset -c 1 perf stat -x, -e 'syscalls:sys_enter_sendmsg,syscalls:sys_enter_sendto,syscalls:sys_enter_futex,syscalls:sys_enter_sched_yield,context-switches' \
      -p $spid -o $out/$label-r$r.stat -- sleep 10 > /dev/null 2>&1
    t1=$(cpu_ticks); f1=$(frames)
    echo "$((f1-f0)) $((t1-t0))" > $out/$label-r$r.frames
    wait $gpid
    stop_server
    python3 - "$out/$label-r$r" "$label r$r $rate/s $(cut -d' ' -f2- /proc/loadavg | cut -d' ' -f1)" <<'PY' | tee -a $out/counts.txt
import sys,re
base,title=sys.argv[1],sys.argv[2]
frames,ticks=map(int,open(base+'.frames').read().split())
c={}
for l in open(base+'.stat'):
    p=l.strip().split(',')
    if len(p)>3 and p[0].replace('.','').isdigit(): c[p[2].split(':')[-1]]=float(p[0])
lat=re.search(r'ramp .*?lat p50 ([\d.]+) .*?p99 ([\d.]+)',open(base+'.log').read())
f=max(frames,1)
print(f"{title:28} frames/s {frames/10/1e3:7.0f}k  cpu {ticks/10:4.0f}%  µs/frame {ticks*1e4/f:5.2f}  writes/frame {(c.get('sys_enter_sendmsg',0)+c.get('sys_enter_sendto',0))/f:.3f}"
      f"  futex/frame {c.get('sys_enter_futex',0)/f:.3f}  yield/frame {c.get('sys_enter_sched_yield',0)/f:.3f}  cs/frame {c.get('context-switches',0)/f:.3f}"
      + (f"  lat p50 {lat.group(1)} p99 {lat.group(2)} ms" if lat else ""))
PY
  done
done
