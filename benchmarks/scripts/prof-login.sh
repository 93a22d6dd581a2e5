#!/bin/bash
# prof-login.sh <label> <server dir> <out> [users] [scenario] : the generator's login (or freshlogin) scenario with many
# users (default 12000) against a server started here (CPU 0, durable SQLite, rate limits off, perf map on); once 300
# connections are open, `perf record` samples CPU 0 for SECS (default 6) s (one sample = 1 ms of CPU), filtered to the server and
# folded by fold.py into <out>/<label>.cpu.txt. Generator on CPU 1. Env: G, SRVENV (server settings), KEEP=1 (also
# <out>/<label>.perf.txt.gz, the perf script output, for incl.py), CALLGRAPH ("--call-graph dwarf": SQLite's own frames unwind; default -g), GARGS (more generator options, e.g. --login-warmup 1000:
# the connection count that starts perf then counts from the measured wave's start).
source "$(dirname "$0")/lib.sh"
label=$1; srv=$2; out=$3; users=${4:-12000}; scen=${5:-login}; mkdir -p $out
echo "== $label start $(date -u +%T) $(uptime)" | tee -a $out/uptime.txt
start_server $srv/Parley.Server.dll "" Parley__Messaging__MaxGroupMembers=2000 $SRVENV DOTNET_PerfMapEnabled=1 DOTNET_EnableWriteXorExecute=0
wait_ready
PARLEY_ADMIN_SECRET=$secret taskset -c 1 dotnet $G --server-url http://127.0.0.1:$port --server-pid $spid --runs 1 \
  --scenarios $scen --targets parley --login-users $users --idle-seconds 1 $GARGS --out $dir/gen.json > $out/$label.gen.log 2>&1 &
gpid=$!
conns() { curl -sf http://127.0.0.1:$port/metrics | awk '/^parley_gateway_connections/{s+=$NF} END{print s+0}'; }
if [[ "$GARGS" == *--login-warmup* ]]; then
  # The warm-up wave's connections count too: wait for its end and its sessions' close first.
  for i in $(seq 2400); do grep -q 'warm-up r' $out/$label.gen.log 2>/dev/null && break; sleep 0.25; done
  for i in $(seq 2400); do c=$(conns); [ "${c%.*}" -lt 300 ] 2>/dev/null && break; sleep 0.25; done
fi
for i in $(seq 2400); do c=$(conns); [ "${c%.*}" -ge 300 ] 2>/dev/null && break; sleep 0.25; done
taskset -c 1 perf record -e cpu-clock -c 1000000 ${CALLGRAPH:--g} -C 0 -o $dir/perf.data -- sleep ${SECS:-6} > $out/$label.perf.log 2>&1
echo "   connections at the perf start: $c; after: $(conns)" | tee -a $out/uptime.txt
wait $gpid
cp /tmp/perf-$spid.map $dir/ 2>/dev/null
taskset -c 1 perf script -i $dir/perf.data --pid $spid 2>/dev/null > $dir/perf.txt
python3 $here/fold.py $dir/perf.txt 60 > $out/$label.cpu.txt
[ -n "$KEEP" ] && gzip -c $dir/perf.txt > $out/$label.perf.txt.gz
echo "== $label end $(date -u +%T) $(uptime)" | tee -a $out/uptime.txt
grep '^\[' $out/$label.gen.log
stop_server
