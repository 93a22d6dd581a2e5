#!/bin/bash
# perfprof.sh <label> <server dll> [rate] [scenario] : warm 1:1 at a fixed rate (default 1500 msg/s; 1,000 users, one peer
# each) through the native protocol (scenario chat, the default) or the OpenIM edge (openim: the edge switched on); 25 s
# in, a 20 s `perf record` (on-CPU samples, perf map for JIT frames) of the server and its CPU ticks over those 20 s.
# Server on CPU 0 started from its own folder, generator on CPU 1. Env: OUT (default /tmp/perfprof), G, GARGS (more
# generator options), SYMBOLS=1 (also DOTNET_EnableWriteXorExecute=0, so JIT frames resolve by name), SRVENV (more
# NAME=VALUE server settings, space-separated). cpu.txt also has the event frames the server handed to outboxes in the
# window (parley_delivery_frames_total) and the server's CPU µs per frame (a group scenario's deliveries).
# SYSCALLS=1 (stop 44, edge): after the record, a 10 s `perf stat` of the server's system calls by kind, its context switches
# and CPU migrations, each per event frame handed to outboxes in those 10 s (<label>.syscalls.txt): how many socket reads,
# writes, futex wake-ups and epoll waits a message costs (a read that returns several frames shows as < 1 per frame).
# START: seconds from the generator's start to the first measurement (default 25; a rate the server keeps up with ends its
# steps sooner: START=8 measures inside the first step). WALMAP=1 (stop 44, wal): START s in, before the record, WALMAP_SECS (5) s of the server's pread64 and of a libc pwrite64 uprobe
# (`walpw`: each WAL frame header's page number and commit field), then readmap.py --writes: the writer's WAL frames by B-tree
# per accepted message and per commit, and every connection's reads by B-tree (<label>.walmap.txt; needs root for the uprobe).
# WALMAP_ARGS: more readmap.py options, e.g. "--flush-ms=100" (ADR 0028: the derived rows written once per 100 ms, simulated).
# METRICS=1 (stop 46, cpu): the commit's histograms over the record window and the writer's busy share (<label>.commit.txt);
# RECORD_SECS: the record's length (default 20).
# Writes $OUT/<label>.{gen.json,gen.log,perf.data,perf.log,cpu.txt,perf-<pid>.map}.
source "$(dirname "$0")/lib.sh"
label=$1; dll=$(realpath $2); rate=${3:-1500}; scen=${4:-chat}; out=${OUT:-/tmp/perfprof}; mkdir -p $out
oim=$(openssl rand -hex 32); edge=()
[ $scen = openim ] && edge=(Parley__OpenIM__Enabled=true Parley__OpenIM__Secret=$oim Parley__OpenIM__ApiPort=0 Parley__OpenIM__WsPort=0)
cd $(dirname $dll)
start_server $dll "" DOTNET_PerfMapEnabled=1 ${SYMBOLS:+DOTNET_EnableWriteXorExecute=0} "${edge[@]}" $SRVENV
wait_ready
# RT=1 (stop 45, tail): the server's threads and the generator in SCHED_FIFO (priority 1), as stall-timeline.sh's RT=1: on a
# machine loaded by others' builds the server otherwise gets a few % of its core and batches hundreds of messages per commit,
# which is not the commit a half load makes (say so with the figures).
if [ "${RT:-0}" = 1 ]; then for t in /proc/$spid/task/*; do chrt -f -p 1 ${t##*/} > /dev/null 2>&1; done; fi
cd /tmp
PARLEY_OPENIM_SECRET=$oim PARLEY_ADMIN_SECRET=$secret $([ "${RT:-0}" = 1 ] && echo chrt -f 1) taskset -c 1 dotnet $G --server-url http://127.0.0.1:$port --server-pid $spid --runs 1 --warmup 1 --window 10 \
  --scenarios $scen --targets parley --chat-peers 1 $GARGS --chat-rates $rate,$rate,$rate,$rate,$rate,$rate --out $out/$label.gen.json > $out/$label.gen.log 2>&1 &
gpid=$!
sleep ${START:-25}
accepted() { curl -s -m 10 -H "Authorization: Bearer $secret" http://127.0.0.1:$port/metrics | awk '/^parley_messages_accepted_total/{print $NF}'; }
if [ -n "$WALMAP" ]; then
  perf probe -l 2>/dev/null | grep -q walpw || perf probe -q -x /lib/x86_64-linux-gnu/libc.so.6 --add 'walpw=pwrite64 fd=%di:s32 pg=+0(%si):u32 count=%dx:u64 pos=%cx:s64 csz=+4(%si):u32' > /dev/null 2>&1
  ls -l /proc/$spid/fd > $out/$label.fds 2>/dev/null; a0=$(accepted)
  taskset -c 1 perf record -q -e syscalls:sys_enter_pread64 -e probe_libc:walpw -p $spid -o $out/$label.walmap.data -- sleep ${WALMAP_SECS:-5} > /dev/null 2>&1
  a1=$(accepted); perf script -i $out/$label.walmap.data -F comm,tid,time,event,trace 2>/dev/null > $out/$label.walmap.trace
  nice taskset -c 1 python3 $here/readmap.py --writes $WALMAP_ARGS $out/$label.walmap.trace $out/$label.fds $dir/data/parley.db $(awk -v a=$a0 -v b=$a1 'BEGIN{print b-a}') > $out/$label.walmap.txt 2>&1
  rm -f $out/$label.walmap.data
fi
frames() { curl -s -H "Authorization: Bearer $secret" http://127.0.0.1:$port/metrics | awk '/^parley_delivery_frames_total/ {print $2}'; }
metrics() { curl -s -m 10 -H "Authorization: Bearer $secret" http://127.0.0.1:$port/metrics > $1; }
[ "${METRICS:-0}" = 1 ] && { metrics $out/$label.m0; cat /proc/$spid/io > $out/$label.io0; }
f0=$(frames)
s0=$(cpu_ticks); t0=$(date +%s.%N)
taskset -c 1 perf record -F 997 -g -p $spid -o $out/$label.perf.data -- sleep ${RECORD_SECS:-20} > $out/$label.perf.log 2>&1
s1=$(cpu_ticks); t1=$(date +%s.%N)
f1=$(frames)
[ "${METRICS:-0}" = 1 ] && { metrics $out/$label.m1; cat /proc/$spid/io > $out/$label.io1; }
echo "cpu_ticks_20s=$((s1-s0))" > $out/$label.cpu.txt
# METRICS=1 (stop 46, cpu): /metrics around the record (<label>.m0, .m1) and prom-hist.py on them (<label>.commit.txt): the
# commit pipeline's batch against the SQLite writer's queue wait, transaction and COMMIT, the batch sizes, and the share of
# the window the writer spent inside transactions (100 % = the single writer was never idle: a serial bound), and the
# server's bytes to storage and written by calls (/proc/<pid>/io) per committed item.
if [ "${METRICS:-0}" = 1 ]; then
  python3 $here/prom-hist.py $out/$label.m0 $out/$label.m1 parley_store_commit_duration_seconds parley_store_batch_size \
    parley_storage_sqlite_queue_wait_seconds parley_storage_sqlite_transaction_duration_seconds parley_storage_sqlite_commit_duration_seconds \
    parley_storage_sqlite_checkpoint_duration_seconds parley_storage_sqlite_background_duration_seconds > $out/$label.commit.txt 2>&1
  python3 - $out/$label.m0 $out/$label.m1 $t0 $t1 $((s1-s0)) >> $out/$label.commit.txt <<'PY'
import re, sys
def sums(p):
    d = {}
    for line in open(p):
        m = re.match(r'^(\w+)_(sum|count)(?:\{[^}]*\})?\s+(\S+)', line)
        if m: d[(m.group(1), m.group(2))] = d.get((m.group(1), m.group(2)), 0) + float(m.group(3))
    return d
a, b = sums(sys.argv[1]), sums(sys.argv[2]); wall = float(sys.argv[4]) - float(sys.argv[3]); ticks = int(sys.argv[5])
print(f"\nwindow {wall:.1f} s, server CPU {ticks / wall:.1f} % of a core")
for n in ['parley_storage_sqlite_transaction_duration_seconds', 'parley_storage_sqlite_commit_duration_seconds',
          'parley_storage_sqlite_queue_wait_seconds', 'parley_store_commit_duration_seconds']:
    s = b.get((n, 'sum'), 0) - a.get((n, 'sum'), 0); c = b.get((n, 'count'), 0) - a.get((n, 'count'), 0)
    print(f"{n}: {c:.0f} in the window, sum {s:.2f} s = {100 * s / wall:.1f} % of the window, mean {1000 * s / max(c, 1):.3f} ms")
n = 'parley_store_batch_size'
s = b.get((n, 'sum'), 0) - a.get((n, 'sum'), 0); c = b.get((n, 'count'), 0) - a.get((n, 'count'), 0)
print(f"{n}: {c:.0f} batches, {s:.0f} items, mean {s / max(c, 1):.1f}; {s / wall:.0f} items/s")
io = lambda p: dict((l.split(':')[0], int(l.split(':')[1])) for l in open(p) if ':' in l)
try:
    i0, i1 = io(sys.argv[1][:-3] + '.io0'), io(sys.argv[1][:-3] + '.io1')
    wb = i1['write_bytes'] - i0['write_bytes']; wc = i1['wchar'] - i0['wchar']
    print(f"server I/O: {wb / wall / 1e6:.1f} MB/s to storage ({wb / max(s, 1) / 1024:.1f} KB per committed item), {wc / wall / 1e6:.1f} MB/s written by calls ({wc / max(s, 1) / 1024:.1f} KB per item)")
except (OSError, KeyError):
    pass
PY
fi
# parley_delivery_frames_total: event frames handed to outboxes in the window (about 20 s: two /metrics reads around it).
echo "frames_20s=$((${f1:-0}-${f0:-0})) us_per_frame=$(python3 -c "print(round(($s1-$s0)*1e4/max(${f1:-0}-${f0:-0},1),3))")" >> $out/$label.cpu.txt
if [ -n "$SYSCALLS" ]; then
  ev=context-switches,cpu-migrations; for c in read readv recvfrom recvmsg recvmmsg write writev sendto sendmsg sendmmsg pread64 pwrite64 fdatasync fsync futex epoll_wait epoll_pwait epoll_pwait2 epoll_ctl poll ppoll io_uring_enter sched_yield nanosleep clock_nanosleep; do ev=$ev,syscalls:sys_enter_$c; done
  g0=$(frames); s2=$(cpu_ticks)
  # Every thread of the server by id (-t), and again as a perf trace summary for 5 s (-s: every system call by thread).
  tids=$(ls /proc/$spid/task | paste -sd,)
  taskset -c 1 perf stat -e $ev -x, -t $tids -o $out/$label.perfstat.txt -- sleep 10 > /dev/null 2>&1
  s3=$(cpu_ticks); g1=$(frames)
  python3 - "$out/$label.perfstat.txt" "$((${g1:-0}-${g0:-0}))" "$((s3-s2))" > $out/$label.syscalls.txt <<'PY'
import sys
path, frames, ticks = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
print(f"frames_10s={frames} cpu_ticks_10s={ticks} us_per_frame={ticks * 1e4 / max(frames, 1):.1f}")
print("| event | count in 10 s | per frame |\n|---|---:|---:|")
for line in open(path):
    f = line.strip().split(',')
    if len(f) < 3 or not f[0].replace('.', '').isdigit(): continue
    print(f"| {f[2].replace('syscalls:sys_enter_', '')} | {int(float(f[0]))} | {float(f[0]) / max(frames, 1):.3f} |")
PY
  g2=$(frames)
  taskset -c 1 perf trace -s -p $spid -o $out/$label.trace-summary.txt -- sleep 5 > /dev/null 2>&1
  g3=$(frames); echo "frames_in_trace_summary_5s=$((${g3:-0}-${g2:-0}))" >> $out/$label.syscalls.txt
fi
cp /tmp/perf-$spid.map $out/$label.perf-$spid.map 2>/dev/null
echo "pid=$spid" >> $out/$label.cpu.txt
wait $gpid
stop_server
