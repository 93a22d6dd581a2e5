#!/bin/bash
# sys.sh <label> <server dll> [gen args]: syscalls + counters of the server during a fixed 1,000 msg/s warm 1:1 step
label=$1; srv=$2; shift 2
GEN=/work/wt/perf/benchmarks/Parley.LoadTest/bin/Release/net10.0/Parley.LoadTest.dll
out=/tmp/prof/$label; rm -rf $out; mkdir -p $out
echo "== $label start $(date -u +%H:%M:%S) $(uptime)" | tee $out/uptime
dotnet $GEN --start-server $srv --taskset-server 0 --taskset-generator 1 --runs 1 --warmup 3 --window 20 \
  --scenarios chat --targets parley --chat-peers 1 --chat-rates 1000,1000 "$@" --out $out/gen.json > $out/gen.log 2>&1 &
gpid=$!
for i in $(seq 600); do pid=$(grep 'ready at' $out/gen.log | grep -o 'pid [0-9]*' 2>/dev/null | head -1 | cut -d' ' -f2); [ -n "$pid" ] && break; sleep 0.2; done
for i in $(seq 900); do grep -q 'ramp 1000/s\]' $out/gen.log && break; sleep 0.2; done
sleep 4
ps -o pid,ppid,args -p $pid | cut -c1-120 > $out/ps
cat /proc/$pid/io > $out/io0; cat /proc/$pid/stat > $out/stat0
taskset -c 1 ~/.dotnet/tools/dotnet-counters collect -p $pid --counters System.Runtime --refresh-interval 1 --duration 00:00:10 -f csv -o $out/counters.csv > $out/counters.log 2>&1 &
cpid=$!
taskset -c 1 perf stat -e 'syscalls:sys_enter_pwrite64,syscalls:sys_enter_fdatasync,syscalls:sys_enter_fsync,syscalls:sys_enter_write,syscalls:sys_enter_sendto,syscalls:sys_enter_sched_yield,syscalls:sys_enter_futex' -p $pid -o $out/perfstat.txt -- sleep 10
cat /proc/$pid/io > $out/io1; cat /proc/$pid/stat > $out/stat1
wait $cpid
wait $gpid
echo "== $label end $(date -u +%H:%M:%S) $(uptime)" | tee -a $out/uptime
grep '^\[' $out/gen.log
