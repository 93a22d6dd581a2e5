#!/bin/bash
# ab.sh <outdir> <rounds> <scenarios> <label=server dll>... : interleaved runs, one generator run per build per round; the
# generator starts each server itself (--start-server: temp data dir, durable SQLite defaults, rate limits off, free ports;
# for openim the OpenIM edge on at /openim/ws), server pinned to CPU 0, generator to CPU 1; 1,000 users, one peer each.
# RATES (default 1000,2000,3000,4000,5000), TARGETS (default parley), GARGS: more generator options.
out=$1; rounds=$2; scen=$3; shift 3
G=${G:-/work/wt/biz/benchmarks/Parley.LoadTest/bin/Release/net10.0/Parley.LoadTest.dll}
mkdir -p $out
for r in $(seq $rounds); do
  for pair in "$@"; do
    label=${pair%%=*}; dll=${pair#*=}
    echo "== r$r $label start $(date -u +%H:%M:%S) $(uptime)" | tee -a $out/uptime.txt
    timeout 1500 dotnet $G --start-server $dll --taskset-server 0 --taskset-generator 1 --runs 1 --warmup 1 --window 4 \
      --scenarios $scen --targets ${TARGETS:-parley} --chat-peers 1 --chat-rates ${RATES:-1000,2000,3000,4000,5000} $GARGS \
      --out $out/$label-r$r.json > $out/$label-r$r.log 2>&1
    echo "== r$r $label end rc=$? $(date -u +%H:%M:%S) $(uptime)" | tee -a $out/uptime.txt
    grep '^\[' $out/$label-r$r.log | head -40
  done
done
