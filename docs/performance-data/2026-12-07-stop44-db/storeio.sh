#!/bin/bash
# store-io of each build's own benchmark, interleaved base, new, new, base (random pairs among N users).
OUT=$1; USERS=${2:-1000}; MSGS=${3:-12000}
BASE=/work/base44/benchmarks/Parley.Benchmarks/bin/Release/net10.0/Parley.Benchmarks.dll
NEW=/work/wt/db/benchmarks/Parley.Benchmarks/bin/Release/net10.0/Parley.Benchmarks.dll
for b in base new new base; do
  dll=$BASE; [ $b = new ] && dll=$NEW
  echo "== $b $(date -u +%H:%M:%S)"
  dotnet $dll store-io --users $USERS --prefill 40000 --messages $MSGS --batch 12 --rounds 1
done > $OUT 2>&1
