#!/bin/bash
# interleaved: allocation (alloc.sh, 300 msg/s, 2 rounds) then CPU per message (step-metrics.sh, 2000 msg/s, 2 rounds), base41 vs new
cd /work/wt/edge
export G=/work/base41/benchmarks/Parley.LoadTest/bin/Release/net10.0/Parley.LoadTest.dll
B=/work/base41/src/Parley.Server/bin/Release/net10.0; N=${N:-/tmp/edge41/new1}; O=${O:-/tmp/edge41/ab1}
mkdir -p $O
bash docs/performance-data/2026-12-06-stop37-edge/ab-alloc.sh $O/alloc 2 base=$B new=$N
for r in 1 2; do
  if [ $r = 1 ]; then order="base=$B/Parley.Server.dll new=$N/Parley.Server.dll"; else order="new=$N/Parley.Server.dll base=$B/Parley.Server.dll"; fi
  RATE=2000 WINDOW=20 bash benchmarks/scripts/step-metrics.sh $O/step $order
done
echo AB-DONE
