#!/bin/bash
# after the soak: fixed pairs on the CI's build with and without the image's 8 MiB young generation, 2 rounds interleaved
N=/tmp/ci41/src/Parley.Server/bin/Release/net10.0; NG=/tmp/ci41/benchmarks/Parley.LoadTest/bin/Release/net10.0/Parley.LoadTest.dll
cd /work/main
G=$NG RATES=6000,9000,12000,15000,18000,21000 bash benchmarks/scripts/ab.sh /tmp/q41/lead/gen0 2 chat \
  "gen0=$N/Parley.Server.dll@DOTNET_GCgen0size=0x800000" "default=$N/Parley.Server.dll" > /tmp/q41/lead/gen0.out 2>&1
python3 benchmarks/scripts/ab-summary.py --runs '/tmp/q41/lead/gen0/{build}-r?.json' gen0 default > /tmp/q41/lead/gen0.summary.md 2>&1
