#!/bin/bash
# syscalls.sh <label> <server dll> [rate] : warm 1:1 fixed pairs at a fixed rate (default 300 msg/s; 1,000 users, one peer
# each; server on CPU 0, generator on CPU 1, as perfprof.sh); 25 s in, 20 s of `perf stat` of the server's system calls
# (tracepoints) and context switches, and the messages the server accepted over the same 20 s (its /metrics). Prints
# per message: each system call's count, context switches, and CPU ms. Env: OUT (/tmp/syscalls), G, SRVENV.
source "$(dirname "$0")/../../../benchmarks/scripts/lib.sh"
label=$1; dll=$(realpath $2); rate=${3:-300}; out=${OUT:-/tmp/syscalls}; mkdir -p $out
cd $(dirname $dll)
start_server $dll "" $SRVENV
wait_ready
cd /tmp
PARLEY_ADMIN_SECRET=$secret taskset -c 1 dotnet $G --server-url http://127.0.0.1:$port --server-pid $spid --runs 1 --warmup 1 --window 10 \
  --scenarios chat --targets parley --chat-peers 1 --chat-rates $rate,$rate,$rate,$rate,$rate,$rate --out $out/$label.gen.json > $out/$label.gen.log 2>&1 &
gpid=$!
sleep 25
accepted() { curl -s http://127.0.0.1:$port/metrics | awk '/^parley_messages_accepted_total[ {]/ {s+=$2} END {printf "%d", s}'; }
m0=$(accepted); s0=$(cpu_ticks)
ev=syscalls:sys_enter_sched_yield,syscalls:sys_enter_futex,syscalls:sys_enter_sendto,syscalls:sys_enter_sendmsg,syscalls:sys_enter_recvfrom,syscalls:sys_enter_recvmsg,syscalls:sys_enter_epoll_wait,syscalls:sys_enter_pwrite64,syscalls:sys_enter_pread64,syscalls:sys_enter_fsync,syscalls:sys_enter_fdatasync,syscalls:sys_enter_write,syscalls:sys_enter_read,context-switches
taskset -c 1 perf stat -x, -e $ev -p $spid -o $out/$label.stat.csv -- sleep 20 > /dev/null 2>&1
m1=$(accepted); s1=$(cpu_ticks)
wait $gpid
stop_server
n=$((m1 - m0)); [ $n -gt 0 ] || { echo "$label: no message accepted in the 20 s (m0=$m0 m1=$m1)"; exit 1; }
echo "$label: $n messages accepted in 20 s, cpu ms/msg $(python3 -c "print(round(($s1-$s0)*10/$n,3))")" | tee $out/$label.summary
awk -F, -v n=$n '$1 ~ /^[0-9]+$/ {printf "  %-36s %10d  %.3f per message\n", $3, $1, $1/n}' $out/$label.stat.csv | tee -a $out/$label.summary
