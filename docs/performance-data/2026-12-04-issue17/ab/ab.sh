#!/bin/bash
# ab.sh <outdir> <rounds> <build>...: each build's server at /tmp/p17/<build>, interleaved per round; same generator binary.
out=$1; rounds=$2; shift 2
mkdir -p $out
GEN=/tmp/p17/base/benchmarks/Parley.LoadTest/bin/Release/net10.0/Parley.LoadTest.dll
for round in $(seq $rounds); do
  for t in "$@"; do
    srv=/tmp/p17/$t/src/Parley.Server/bin/Release/net10.0/Parley.Server.dll
    echo "== round $round $t $(date -u +%H:%M:%S) load $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a $out/uptime.txt
    dotnet $GEN --start-server $srv --taskset-server 0 --taskset-generator 1 --runs 1 --warmup 1 --window 4 \
      --scenarios login,chat --targets parley --chat-peers 1 --chat-rates 1000,2000,3000,4000,5000,6000 \
      --out $out/$t-$round.json > $out/$t-$round.log 2>&1
    echo "rc=$?"
  done
done
