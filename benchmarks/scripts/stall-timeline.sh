#!/bin/bash
# stall-timeline.sh <outdir> <label> <server dll> [NAME=VALUE...] : issue 17 (stop 43): one warm 1:1 step (RATE, default
# 1000 msg/s; PEERS=0 random pairs among USERS, default 1000; WINDOW s, default 20) with everything on one clock
# (CLOCK_MONOTONIC): every message's send, ack and first delivery (the generator's --timeline-out), every fsync/fdatasync
# of every process with its descriptor and duration, the disk's requests (flushes included) and the kernel's writeback
# (perf record -k mono -a, into <label>.sys.perf), the server's pwrite64 calls (<label>.srv.perf; SRVPERF=0: not
# traced), /proc/meminfo Dirty/Writeback and /proc/vmstat's direct reclaim and compaction counters every 20 ms, and the server's descriptors (which file each fd is). Then
# stall-timeline.py says what the slow messages' windows coincide with (<label>.report). The perf.data files stay in
# <outdir> (large: keep them out of the repository). GCTRACE=1: the server's GC pauses on the same clock (<label>.gc.txt). RT=1: server and generator in SCHED_FIFO (see below).
source "$(dirname "$0")/lib.sh"
out=$1; label=$2; dll=$3; shift 3; mkdir -p $out; o=$out/$label
# SENDTRACE=1 (stop 44): the server's send trace (Parley:Gateway:SendTraceFile, written when it stops: every send's hops,
# every live frame's queue and write, the thread pool's queue every ms) into <label>.sendtrace, read with the timeline by
# send-trace.py into <label>.hops (each message's time from the generator's send to its receiver's read, hop by hop).
# SYSPERF=0: no system-wide perf record (the fsync/disk part of the report is then empty).
[ "${SENDTRACE:-0}" = 1 ] && set -- Parley__Gateway__SendTraceFile=$(realpath -m $o.sendtrace) "$@"
start_server $dll $o.server.log Parley__Messaging__MaxGroupMembers=2000 "$@"
wait_ready
# RT=1: the server's threads and the generator in SCHED_FIFO (priority 1) ahead of the other engineers' builds on a shared
# machine (a run that should see the server's own stalls, not the CPU's queue; say so with its figures).
if [ "${RT:-0}" = 1 ]; then for t in /proc/$spid/task/*; do chrt -f -p 1 ${t##*/} > /dev/null 2>&1; done; fi
python3 - $o.meminfo <<'PY' & mem=$!
import sys, time
# every 20 ms: Dirty and Writeback (KB), and the kernel's direct reclaim and compaction counters (a process that allocates
# memory stalls in them: a system-wide pause that no block request shows)
f = open(sys.argv[1], 'w')
keys = ('allocstall_normal', 'allocstall_movable', 'compact_stall', 'pgscan_direct', 'pgscan_kswapd')
while True:
    d = w = 0
    for line in open('/proc/meminfo'):
        if line.startswith('Dirty:'): d = int(line.split()[1])
        elif line.startswith('Writeback:'): w = int(line.split()[1]); break
    v = dict.fromkeys(keys, 0)
    for line in open('/proc/vmstat'):
        k, _, n = line.partition(' ')
        if k in v: v[k] = int(n)
    f.write(f"{time.monotonic_ns()} {d} {w} {v['allocstall_normal'] + v['allocstall_movable']} {v['compact_stall']} {v['pgscan_direct']} {v['pgscan_kswapd']}\n"); f.flush()
    time.sleep(0.02)
PY
# A descriptor's file is read once the server has opened its database (ready) and again after the step.
ls -l /proc/$spid/fd > $o.fd0 2>/dev/null
if [ "${SYSPERF:-1}" = 1 ]; then perf record -q -k mono -a -o $o.sys.perf \
  -e syscalls:sys_enter_fsync,syscalls:sys_exit_fsync,syscalls:sys_enter_fdatasync,syscalls:sys_exit_fdatasync \
  -e block:block_rq_issue,block:block_rq_complete \
  -e writeback:writeback_start,writeback:writeback_written,wbt:wbt_step,wbt:wbt_timer,wbt:wbt_lat > $o.sys.perflog 2>&1 & sysperf=$!; fi
if [ "${SRVPERF:-1}" = 1 ]; then
  perf record -q -k mono -p $spid -o $o.srv.perf -e syscalls:sys_enter_pwrite64,syscalls:sys_exit_pwrite64 > $o.srv.perflog 2>&1 & srvperf=$!
fi
# SCHED=1: where each server thread left the CPU, with its kernel stack (sched_switch -g: why a sync blocked)
if [ "${SCHED:-0}" = 1 ]; then
  perf record -q -k mono -g -p $spid -o $o.sched.perf -e sched:sched_switch > $o.sched.perflog 2>&1 & schedperf=$!
fi
# SCHEDALL=1: every task's switches and wake-ups on both CPUs, no stacks (who woke the writer at the end of a long sync,
# and what ran meanwhile)
if [ "${SCHEDALL:-0}" = 1 ]; then
  perf record -q -k mono -a -o $o.schedall.perf -e sched:sched_switch,sched:sched_wakeup > $o.schedall.perflog 2>&1 & schedall=$!
fi
# GCTRACE=1: the server's GC pauses (an EventPipe trace, as step-metrics.sh), put on this clock by gc-pauses --utc and the
# offset between the wall clock and CLOCK_MONOTONIC read here
if [ "${GCTRACE:-0}" = 1 ]; then
  python3 -c 'import time; print(time.time_ns() - time.monotonic_ns())' > $o.clock
  taskset -c 1 ~/.dotnet/tools/dotnet-trace collect -p $spid --clrevents gc --clreventlevel informational -o $o.gc.nettrace > $o.gc.log 2>&1 & gctracer=$!
fi
sleep 1
# METRICS=1 (stop 45, tail): the server's /metrics before and after the generator (<label>.m0, .m1), then prom-hist.py: the
# commit pipeline's batch (taken -> durable, as the send trace's "commit") against the SQLite writer's queue wait, transaction
# and COMMIT, and the batch sizes (<label>.commit.txt): whether a batch's time is the writer's or the hand-back after it.
metrics() { curl -s -m 10 -H "Authorization: Bearer $secret" http://127.0.0.1:$port/metrics > $1; }
[ "${METRICS:-0}" = 1 ] && metrics $o.m0
PARLEY_ADMIN_SECRET=$secret timeout 600 $([ "${RT:-0}" = 1 ] && echo chrt -f 1) taskset -c 1 dotnet $G --server-url http://127.0.0.1:$port --server-pid $spid --runs 1 \
    --warmup 3 --window ${WINDOW:-20} --scenarios chat --targets parley --chat-users ${USERS:-1000} --chat-peers ${PEERS:-0} \
    --chat-rates ${RATE:-1000} $GARGS --timeline-out $o.tl --out $o.json > $o.log 2>&1
ls -l /proc/$spid/fd > $o.fd1 2>/dev/null
[ "${METRICS:-0}" = 1 ] && metrics $o.m1
perfs="$sysperf $srvperf $schedperf $schedall"
if [ -n "${perfs// /}" ]; then kill -INT $perfs 2>/dev/null; wait $perfs 2>/dev/null; fi  # a bare wait would wait for the server
kill $mem; wait $mem 2>/dev/null
stop_server
if [ -n "$gctracer" ]; then
  wait $gctracer 2>/dev/null; trace_tool gc-pauses $here/gc-pauses.cs
  [ -n "$TOOL" ] && dotnet $TOOL $o.gc.nettrace --utc > $o.gc.txt 2>&1
fi
[ -f $o.sys.perf ] && perf script -i $o.sys.perf -F comm,pid,tid,cpu,time,event,trace > $o.sys.txt 2>/dev/null
[ -f $o.schedall.perf ] && perf script -i $o.schedall.perf -F comm,pid,tid,cpu,time,event,trace > $o.schedall.txt 2>/dev/null
[ -f $o.sched.perf ] && perf script -i $o.sched.perf -F comm,pid,tid,time,event,trace,ip,sym > $o.sched.txt 2>/dev/null
[ -f $o.srv.perf ] && perf script -i $o.srv.perf -F comm,pid,tid,time,event,trace > $o.srv.txt 2>/dev/null
grep 'ramp' $o.log | grep -o 'lat p50.*p99 [0-9.]* ms'
[ "${SYSPERF:-1}" = 1 ] && python3 "$(dirname "$0")/stall-timeline.py" $o $spid | tee $o.report
[ -f $o.sendtrace ] && python3 "$(dirname "$0")/send-trace.py" $o.sendtrace $o.tl | tee $o.hops
[ -f $o.m1 ] && python3 "$(dirname "$0")/prom-hist.py" $o.m0 $o.m1 parley_store_commit_duration_seconds parley_store_batch_size \
  parley_storage_sqlite_queue_wait_seconds parley_storage_sqlite_transaction_duration_seconds parley_storage_sqlite_commit_duration_seconds \
  parley_storage_sqlite_checkpoint_duration_seconds parley_storage_sqlite_background_duration_seconds | tee $o.commit.txt
