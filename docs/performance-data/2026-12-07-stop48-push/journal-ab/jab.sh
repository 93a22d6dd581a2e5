#!/bin/bash
# journal-only A/B: base (d1d01eb's code, built from git archive) vs new, interleaved, one core (taskset -c 1)
BD=${BD:-/tmp/push48/base-src/benchmarks/Parley.Push.Benchmarks/bin/Release/net10.0/Parley.Push.Benchmarks.dll}
ND=${ND:-/work/wt/push/benchmarks/Parley.Push.Benchmarks/bin/Release/net10.0/Parley.Push.Benchmarks.dll}
for s in ${ORDER:-base new new base base new new base base new new base}; do d=$BD; [ $s = new ] && d=$ND
  echo "$s $(uptime | sed 's/.*load/load/') $(taskset -c 1 dotnet $d journal ${BATCHES:-2000} ${SIZE:-16} 200 2>&1 | tr '\n' ' ')"; done
