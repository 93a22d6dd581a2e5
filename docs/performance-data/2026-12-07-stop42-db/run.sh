#!/bin/bash
# run.sh <out> <label> <dll> [NAME=VALUE...] : soak-short + per-thread io probe + syscall fd trace at TRACE_AT seconds
out=$1; label=$2; dll=$3; shift 3
mkdir -p $out
S=/work/wt/db/benchmarks/scripts
G=${G:-/work/base42/benchmarks/Parley.LoadTest/bin/Release/net10.0/Parley.LoadTest.dll} MINUTES=${MINUTES:-4} RATE=${RATE:-2000} STEP=${STEP:-10} \
  bash ${SOAK:-$S/soak-short.sh} $out $label $dll "$@" > $out/$label.soak.txt 2>&1 &
sp=$!
for i in $(seq 600); do spid=$(grep "^$label ready" $out/runs.txt 2>/dev/null | tail -1 | sed 's/.* pid \([0-9]*\) .*/\1/'); [ -n "$spid" ] && break; sleep 1; done
dbdir=$(tr '\0' '\n' < /proc/$spid/environ | sed -n 's/^Parley__Storage__DataDirectory=//p')
/tmp/db42/probe.sh $spid $out/$label.probe 10 $dbdir &
for at in $(echo ${TRACE_AT:-60,200} | tr , ' '); do ( sleep $at; ls -l /proc/$spid/fd > $out/$label.$at.fds 2>/dev/null
  taskset -c 0 perf record -q -e 'syscalls:sys_enter_pread64,syscalls:sys_enter_pwrite64,syscalls:sys_enter_fdatasync,syscalls:sys_enter_fsync,syscalls:sys_enter_read,syscalls:sys_enter_write' -p $spid -o $out/$label.$at.trace.data -- sleep 5 > /dev/null 2>&1
  perf script -i $out/$label.$at.trace.data -F comm,tid,event,trace 2>/dev/null > $out/$label.$at.trace.txt ) & done
for at in $(echo ${WALMAP_AT:-150} | tr , ' '); do ( sleep $at; python3 /tmp/db42/walmap.py $dbdir/parley.db > $out/$label.$at.walmap 2>&1 ) & done
wait $sp
sleep 1
