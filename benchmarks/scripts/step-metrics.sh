#!/bin/bash
# step-metrics.sh <outdir> <label=serverdll[@NAME=VALUE,...]>... : one warm 1:1 step at a fixed rate (RATE, default 2100
# msg/s; WINDOW s measured after 3 s of warm-up, default 20) per build, with the server's /metrics scraped right before
# the generator starts and right after it ends, so that the server's own histograms (commit duration, batch size, ack
# duration) and GC counters cover the step. Writes <outdir>/<label>-<N>.{json,log,server.log,m0,m1} and ticks.txt
# (server CPU ticks over the step). Read the histograms with prom-hist.py. The generator also saves the two pages it reads
# around its measured window (--window-metrics: <label>-<N>.win/*.w0 and .w1, the warm-up left out), and after each run
# this prints where the window's sends spent their time inside the server (prom-hist.py --hops, issue 17) into
# <label>-<N>.hops (HOPS=0: not asked, for a generator G older than the option). One run takes about 40 s plus the
# server's start. PEERS (default 1: fixed pairs; 0: random pairs among USERS, default 1000) and GARGS (more generator
# options) choose the load; PERF_TRACE=1 also records every fsync/fdatasync of the server over the run with its duration
# (`perf trace`, into <label>-<N>.sync; summarised by sync-lat.py); RT=1 the server and the generator in SCHED_FIFO; GCTRACE=1 an EventPipe trace of the runtime's GC events
# over the run (<label>-<N>.gc.nettrace, on CPU 1; every pause, its suspension, generation and bytes promoted: gc-pauses.cs, into
# <label>-<N>.gc.txt); GCDUMP_AT=s1,s2 gcdumps of the server (dotnet-gcdump, a full blocking GC each: take them after the
# window or in a run not measured for latency) at those seconds after the generator starts, with their reports
# (<label>-<N>.<s>.gcdump.txt; the census of what lives on, by type: gcdump-census.py <report> 40 StoredMessage-type).
# SERVER_CPU / GEN_CPU (stop 48): the server's CPU (lib.sh, default 0) and the generator's and tracers' (default 1); e.g.
# SERVER_CPU=1 GEN_CPU=0 keeps the server off the CPU the other engineers' servers are pinned to. NICE=-N: the server (lib.sh)
# and the generator at that nice value: ahead of the other engineers' processes on a shared CPU, while the server's own
# threads still preempt one another as in production (SCHED_FIFO threads of one priority, RT=1, never do: a woken thread
# waits until the running one blocks).
source "$(dirname "$0")/lib.sh"
# gc_pauses: the analyzer's dll in GP, built from gc-pauses.cs outside the repository (lib.sh's trace_tool) when needed.
gc_pauses() { trace_tool gc-pauses $here/gc-pauses.cs; GP=$TOOL; }
out=$1; shift; mkdir -p $out
for pair in "$@"; do
  label=${pair%%=*}; rest=${pair#*=}; dll=${rest%%@*}; extra=""; [[ "$rest" == *@* ]] && extra=${rest#*@}
  n=1; while [ -e $out/$label-$n.m0 ]; do n=$((n+1)); done
  start_server $dll $out/$label-$n.server.log Parley__Messaging__MaxGroupMembers=2000 ${extra//,/ }
  wait_ready
  # RT=1 (stop 46): the server's threads and the generator in SCHED_FIFO (priority 1), as stall-timeline.sh's RT=1: ahead
  # of the other engineers' builds on a shared machine (say so with the figures: the CPU's queue is gone, not the server's own)
  if [ "${RT:-0}" = 1 ]; then for t in /proc/$spid/task/*; do chrt -f -p 1 ${t##*/} > /dev/null 2>&1; done; fi
  # RT_OWN=1 (stop 48, with RT=1): the server's own named threads (parley-*: the commit pipeline's and the SQLite writer's
  # loops, the checkpointer) at priority 2, so that a woken one preempts the pool's workers as the kernel's fair scheduler
  # lets a thread that slept do; at one priority a woken SCHED_FIFO thread waits until the running worker blocks
  if [ "${RT:-0}" = 1 ] && [ "${RT_OWN:-0}" = 1 ]; then
    for t in /proc/$spid/task/*; do case "$(cat $t/comm 2>/dev/null)" in parley-*) chrt -f -p 2 ${t##*/} > /dev/null 2>&1;; esac; done
  fi
  curl -s -H "Authorization: Bearer $secret" http://127.0.0.1:$port/metrics > $out/$label-$n.m0
  t0=$(cpu_ticks)
  if [ "${GCTRACE:-0}" = 1 ]; then
    taskset -c ${GEN_CPU:-1} ~/.dotnet/tools/dotnet-trace collect -p $spid --clrevents gc --clreventlevel informational \
      -o $out/$label-$n.gc.nettrace > $out/$label-$n.gc.log 2>&1 & gctracer=$!
  fi
  if [ "${PERF_TRACE:-0}" = 1 ]; then
    perf trace -p $spid -e fsync,fdatasync -o $out/$label-$n.sync > /dev/null 2>&1 & tracer=$!
  fi
  dumps=""; for at in ${GCDUMP_AT//,/ }; do ( sleep $at; taskset -c ${GEN_CPU:-1} ~/.dotnet/tools/dotnet-gcdump collect -p $spid -o $out/$label-$n.$at.gcdump > /dev/null 2>&1
    ~/.dotnet/tools/dotnet-gcdump report $out/$label-$n.$at.gcdump > $out/$label-$n.$at.gcdump.txt 2>&1 ) & dumps="$dumps $!"; done
  PARLEY_ADMIN_SECRET=$secret timeout 600 $([ "${RT:-0}" = 1 ] && echo chrt -f 1) $([ -n "$NICE" ] && echo nice -n $NICE) taskset -c ${GEN_CPU:-1} dotnet $G --server-url http://127.0.0.1:$port --server-pid $spid --runs 1 \
      --warmup 3 --window ${WINDOW:-20} --scenarios chat --targets parley --chat-users ${USERS:-1000} --chat-peers ${PEERS:-1} --chat-rates ${RATE:-2100} $GARGS \
      $([ "${HOPS:-1}" = 1 ] && echo --window-metrics $out/$label-$n.win) --out $out/$label-$n.json > $out/$label-$n.log 2>&1
  curl -s -H "Authorization: Bearer $secret" http://127.0.0.1:$port/metrics > $out/$label-$n.m1
  [ -n "$dumps" ] && wait $dumps
  echo "$label-$n ticks $(( $(cpu_ticks) - t0 ))" >> $out/ticks.txt
  stop_server
  # the tracers end with the server (a background job of a script ignores SIGINT)
  [ -n "$tracer" ] && { wait $tracer 2>/dev/null; tracer=""; python3 "$(dirname "$0")/sync-lat.py" $out/$label-$n.sync; }
  if [ -n "$gctracer" ]; then
    wait $gctracer 2>/dev/null; gctracer=""; gc_pauses
    [ -n "$GP" ] && dotnet $GP $out/$label-$n.gc.nettrace > $out/$label-$n.gc.txt 2>&1 && grep -A9 '^pauses' $out/$label-$n.gc.txt
  fi
  grep 'ramp' $out/$label-$n.log | grep -o 'lat p50.*p99 [0-9.]* ms'
  w=$(ls $out/$label-$n.win/*.w0 2>/dev/null | head -1)
  [ -n "$w" ] && python3 "$(dirname "$0")/prom-hist.py" --hops $w ${w%.w0}.w1 | tee $out/$label-$n.hops
done
