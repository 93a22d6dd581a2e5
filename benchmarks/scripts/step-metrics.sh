#!/bin/bash
# step-metrics.sh <outdir> <label=serverdll[@NAME=VALUE,...]>... : one warm 1:1 step at a fixed rate (RATE, default 2100
# msg/s; WINDOW s measured after 3 s of warm-up, default 20) per build, with the server's /metrics scraped right before
# the generator starts and right after it ends, so that the server's own histograms (commit duration, batch size, ack
# duration) and GC counters cover the step. Writes <outdir>/<label>-<N>.{json,log,server.log,m0,m1} and ticks.txt
# (server CPU ticks over the step). Read the histograms with prom-hist.py. The generator also saves the two pages it reads
# around its measured window (--window-metrics: <label>-<N>.win/*.w0 and .w1, the warm-up left out), and after each run
# this prints where the window's sends spent their time inside the server (prom-hist.py --hops, issue 17) into
# <label>-<N>.hops (HOPS=0: not asked, for a generator G older than the option). One run takes about 40 s plus the
# server's start.
source "$(dirname "$0")/lib.sh"
out=$1; shift; mkdir -p $out
for pair in "$@"; do
  label=${pair%%=*}; rest=${pair#*=}; dll=${rest%%@*}; extra=""; [[ "$rest" == *@* ]] && extra=${rest#*@}
  n=1; while [ -e $out/$label-$n.m0 ]; do n=$((n+1)); done
  start_server $dll $out/$label-$n.server.log Parley__Messaging__MaxGroupMembers=2000 ${extra//,/ }
  wait_ready
  curl -s -H "Authorization: Bearer $secret" http://127.0.0.1:$port/metrics > $out/$label-$n.m0
  t0=$(cpu_ticks)
  PARLEY_ADMIN_SECRET=$secret timeout 600 taskset -c 1 dotnet $G --server-url http://127.0.0.1:$port --server-pid $spid --runs 1 \
      --warmup 3 --window ${WINDOW:-20} --scenarios chat --targets parley --chat-peers 1 --chat-rates ${RATE:-2100} \
      $([ "${HOPS:-1}" = 1 ] && echo --window-metrics $out/$label-$n.win) --out $out/$label-$n.json > $out/$label-$n.log 2>&1
  curl -s -H "Authorization: Bearer $secret" http://127.0.0.1:$port/metrics > $out/$label-$n.m1
  echo "$label-$n ticks $(( $(cpu_ticks) - t0 ))" >> $out/ticks.txt
  stop_server
  grep 'ramp' $out/$label-$n.log | grep -o 'acks.*p99 [0-9.]* ms'
  w=$(ls $out/$label-$n.win/*.w0 2>/dev/null | head -1)
  [ -n "$w" ] && python3 "$(dirname "$0")/prom-hist.py" --hops $w ${w%.w0}.w1 | tee $out/$label-$n.hops
done
