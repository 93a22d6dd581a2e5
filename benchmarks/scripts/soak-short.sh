#!/bin/bash
# soak-short.sh <out> <label> <server dll> [NAME=VALUE...]: a short soak (MINUTES, RATE) of 1:1 random pairs among USERS, server
# on CPU 1, generator on CPU 0, IdleAge 2 min unless overridden; /metrics every STEP s into <out>/<label>.m/, RSS per STEP;
# GCDUMP_AT=s1,s2: gcdumps at those seconds after the soak starts. PERF_AT=s1,s2: a `perf record -g` (frame pointers,
# PERF_HZ 499, PERF_SECS 30) of the server at those seconds into <label>.<s>.perf.data, with the JIT's perf map (pass
# DOTNET_PerfMapEnabled=1 DOTNET_EnableWriteXorExecute=0 for named JIT frames); DWARF_AT=s: a DWARF-unwound one
# (DWARF_SECS 8) that walks native frames built without frame pointers (SQLite's). <label>.cpuio: the server's CPU ticks
# and /proc/<pid>/io once ready and after the soak (CPU and bytes read per message: docs/performance-data/2026-12-06-stop36-perf/cache-ab/summary.py).
# <label>.rss: seconds, clock, RSS KB, the data directory's KB, RssAnon and RssFile KB every STEP s (a file the server maps
# counts in RSS as RssFile: the kernel's page cache, shared and reclaimable); <label>.db at the end: the database's files and
# their bytes, the conversations it holds, USERS. The server and its data directory are removed on exit, also when interrupted.
# <label>.io: the server's CPU ticks and /proc/<pid>/io every STEP s (soak-io.py: KB read and written, calls and CPU per
# message, per interval). READS_AT=s1,s2: SQLite's reads for READS_SECS (5) s there, by connection (writer, checkpointer,
# readers), file and B-tree, per accepted message (readmap.py; a libc pwrite64 uprobe names the WAL's frames) into
# <label>.<s>.reads.txt. GEN_ARGS: more generator options (stop 47: `--retry-busy`).
source "$(dirname "$0")/lib.sh"
out=$1; label=$2; dll=$3; shift 3; mkdir -p $out/$label.m
SERVER_CPU=1 start_server $dll $out/$label.server.log Parley__Orleans__IdleAge=00:02:00 "$@"
trap 'kill $sampler 2>/dev/null; stop_server' EXIT; trap 'exit 130' INT TERM HUP
wait_ready
echo "$label ready after $ready_s s pid $spid port $port $(date -u +%T)" | tee -a $out/runs.txt
( t=0; while kill -0 $spid 2>/dev/null; do
    curl -s -m 10 -H "Authorization: Bearer $secret" http://127.0.0.1:$port/metrics > $out/$label.m/$(printf %05d $t).txt
    echo "$t $(date -u +%T) $(awk '/VmRSS/{print $2}' /proc/$spid/status) $(du -sk $dir/data 2>/dev/null | cut -f1) $(awk '/RssAnon|RssFile/{printf "%s ", $2}' /proc/$spid/status)" >> $out/$label.rss
    echo "$t $(cpu_ticks) $(tr '\n' ' ' < /proc/$spid/io)" >> $out/$label.io
    sleep ${STEP:-5}; t=$((t + ${STEP:-5})); done ) &
sampler=$!
echo "ready ticks $(cpu_ticks) $(tr '\n' ' ' < /proc/$spid/io)" > $out/$label.cpuio
for at in ${GCDUMP_AT//,/ }; do ( sleep $at; taskset -c 0 ~/.dotnet/tools/dotnet-gcdump collect -p $spid -o $out/$label.$at.gcdump > /dev/null 2>&1; ~/.dotnet/tools/dotnet-gcdump report $out/$label.$at.gcdump > $out/$label.$at.gcdump.txt 2>&1 ) & done
for at in ${PERF_AT//,/ }; do ( sleep $at; taskset -c 0 perf record -F ${PERF_HZ:-499} -g -p $spid -o $out/$label.$at.perf.data -- sleep ${PERF_SECS:-30} > $out/$label.$at.perf.log 2>&1; cp /tmp/perf-$spid.map $out/$label.perf-$spid.map ) & done
for at in ${DWARF_AT//,/ }; do ( sleep $at; taskset -c 0 perf record -F 199 --call-graph dwarf,16384 -p $spid -o $out/$label.$at.dwarf.data -- sleep ${DWARF_SECS:-8} > $out/$label.$at.dwarf.log 2>&1 ) & done
accepted() { curl -s -m 10 -H "Authorization: Bearer $secret" http://127.0.0.1:$port/metrics | awk '/^parley_messages_accepted_total/{print $NF}'; }
for at in ${READS_AT//,/ }; do ( sleep $at; a0=$(accepted); ls -l /proc/$spid/fd > $out/$label.$at.fds 2>/dev/null
  perf probe -l 2>/dev/null | grep -q soakpw || perf probe -q -x /lib/x86_64-linux-gnu/libc.so.6 --add 'soakpw=pwrite64 fd=%di:s32 pg=+0(%si):u32 count=%dx:u64 pos=%cx:s64' > /dev/null 2>&1
  taskset -c 0 perf record -q -e syscalls:sys_enter_pread64 -e probe_libc:soakpw -p $spid -o $out/$label.$at.reads.data -- sleep ${READS_SECS:-5} > /dev/null 2>&1
  a1=$(accepted); perf script -i $out/$label.$at.reads.data -F comm,tid,time,event,trace 2>/dev/null > $out/$label.$at.reads.trace
  perf probe -q -d probe_libc:soakpw > /dev/null 2>&1
  nice taskset -c 0 python3 $(dirname "$0")/readmap.py $out/$label.$at.reads.trace $out/$label.$at.fds $dir/data/parley.db $(awk -v a=$a0 -v b=$a1 'BEGIN{print b-a}') > $out/$label.$at.reads.txt 2>&1
  rm -f $out/$label.$at.reads.data $out/$label.$at.reads.trace ) & done
PARLEY_ADMIN_SECRET=$secret taskset -c 0 dotnet $G --server-url http://127.0.0.1:$port --server-pid $spid --runs 1 \
  --scenarios soak --targets parley --chat-users ${USERS:-2000} --chat-peers 0 --soak-rate ${RATE:-750} --soak-minutes ${MINUTES:-6} \
  --out $out/$label.json ${GEN_ARGS:-} > $out/$label.log 2>&1
echo "end ticks $(cpu_ticks) $(tr '\n' ' ' < /proc/$spid/io)" >> $out/$label.cpuio
kill $sampler 2>/dev/null; wait $sampler 2>/dev/null
{ echo "users ${USERS:-2000}"; ls -l $dir/data/parley.db* 2>/dev/null | awk '{print "file", $NF, $5}'
  python3 -c 'import sqlite3,sys; c=sqlite3.connect("file:"+sys.argv[1]+"?mode=ro", uri=True, timeout=60); print("conversations", c.execute("select count(*) from conversations").fetchone()[0])' $dir/data/parley.db 2>&1 | tail -1; } > $out/$label.db
stop_server
grep -E '\] (sent|conversation|[0-9]+ min)' $out/$label.log | sed 's/^\[parley soak r1 //' | tail -n 40
