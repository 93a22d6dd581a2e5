#!/bin/bash
# ab.sh (= ../2026-12-05-login/ab4.sh) <outdir> <rounds> <scenarios> <label=serverdll[@ENV=V,ENV2=V2]>... : interleaved A/B, one run per build (or server setting) per round.
# Starts each server itself (pinned to CPU 0, temp data dir, durable SQLite defaults, rate limits off, free ports, up to
# 300 s to become ready on the shared machine), then runs the generator pinned to CPU 1 against it.
out=$1; rounds=$2; scen=$3; shift 3
G=${G:-/tmp/p3/gen/Parley.LoadTest.dll}  # the generator; set G to use another build
mkdir -p $out
freeport() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }
for r in $(seq $rounds); do
  for pair in "$@"; do
    label=${pair%%=*}; rest=${pair#*=}; dll=${rest%%@*}; extra=""; [[ "$rest" == *@* ]] && extra=${rest#*@}
    dir=$(mktemp -d /tmp/perfw-srv-XXXX); port=$(freeport); secret=$(openssl rand -hex 24)
    echo "== r$r $label start $(date -u +%H:%M:%S) $(uptime)" | tee -a $out/uptime.txt
    Parley__Admin__Secret=$secret Parley__Storage__DataDirectory=$dir/data Parley__RateLimits__Enabled=false \
      Parley__Orleans__SiloPort=$(freeport) Parley__Orleans__GatewayPort=$(freeport) Parley__Messaging__MaxGroupMembers=2000 \
      env ${extra//,/ } taskset -c 0 dotnet $dll --urls http://127.0.0.1:$port > $out/$label-r$r.server.log 2>&1 &
    spid=$!
    for i in $(seq 600); do curl -sf http://127.0.0.1:$port/readyz > /dev/null && break; sleep 0.5; done
    echo "   ready after $((i/2)) s (pid $spid)" | tee -a $out/uptime.txt
    PARLEY_ADMIN_SECRET=$secret timeout 600 taskset -c 1 dotnet $G --server-url http://127.0.0.1:$port --server-pid $spid --runs 1 --warmup 1 --window 4 \
      --scenarios $scen --targets parley --chat-peers 1 --chat-rates ${RATES:-1000,2000,3000,4000} $GARGS --out $out/$label-r$r.json > $out/$label-r$r.log 2>&1
    echo "== r$r $label end rc=$? $(date -u +%H:%M:%S) $(uptime)" | tee -a $out/uptime.txt
    kill $spid; wait $spid 2>/dev/null; rm -rf $dir
    grep '^\[' $out/$label-r$r.log | grep -v '^\[srv' | head -12
  done
done
