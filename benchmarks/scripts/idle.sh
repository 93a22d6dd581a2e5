#!/bin/bash
# idle.sh <label> <server dir> <outdir> [users] : the generator's login scenario (users logins, default 2000, 64 in
# flight, then 30 s idle; server on CPU 0, generator on CPU 1). A gcdump (forces a full blocking GC; dotnet-gcdump) of
# the server before the generator starts and another once every connection is open and idle for 10 s: the managed heap
# per idle connection = d(heap)/users, by type (gcdiff.py over the two gcdump reports), appended to <outdir>/results.txt.
# The generator's own idle_kb_per_conn (RSS) is in <label>.gen.log. Env: G, SRVENV (server settings, e.g.
# SRVENV=Parley__Gateway__DirectUpgrade=false).
source "$(dirname "$0")/lib.sh"
label=$1; srv=$2; out=$3; users=${4:-2000}; mkdir -p $out
start_server $srv/Parley.Server.dll "" Parley__Messaging__MaxGroupMembers=2000 $SRVENV
wait_ready
sleep 3
taskset -c 1 ~/.dotnet/tools/dotnet-gcdump collect -p $spid -o $out/$label.before.gcdump > /dev/null 2>&1
PARLEY_ADMIN_SECRET=$secret taskset -c 1 dotnet $G --server-url http://127.0.0.1:$port --server-pid $spid --runs 1 --warmup 1 --window 4 \
  --scenarios login --targets parley --login-users $users --idle-seconds 30 --out $dir/gen.json > $out/$label.gen.log 2>&1 &
gpid=$!
conns() { curl -sf http://127.0.0.1:$port/metrics | awk '/^parley_gateway_connections/{c=$2} END{print c+0}'; }
for i in $(seq 1200); do c=$(conns); [ "${c%.*}" -ge $users ] 2>/dev/null && break; sleep 0.5; done
sleep 10
taskset -c 1 ~/.dotnet/tools/dotnet-gcdump collect -p $spid -o $out/$label.idle.gcdump > /dev/null 2>&1
wait $gpid
stop_server
for f in before idle; do ~/.dotnet/tools/dotnet-gcdump report $out/$label.$f.gcdump > $out/$label.$f.txt 2>&1; done
python3 $here/gcdiff.py $out/$label $users 60 | tee -a $out/results.txt
grep '^\[' $out/$label.gen.log | tee -a $out/results.txt
