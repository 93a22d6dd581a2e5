#!/bin/bash
cd /work/wt/edge
export G=/work/base41/benchmarks/Parley.LoadTest/bin/Release/net10.0/Parley.LoadTest.dll
B=/work/base41/src/Parley.Server/bin/Release/net10.0
O=/tmp/edge41/ab2; mkdir -p $O
# traces at 1,000 msg/s: the sites of each build (base traced before as /tmp/edge41/alloc/tbase)
for l in new2 new1 base; do
  d=/tmp/edge41/$l; [ $l = base ] && d=$B
  FROM=3000 SPAN=0 bash benchmarks/scripts/alloc.sh t$l $d/Parley.Server.dll $O/trace 1000 30
done
# counters at 1,000 msg/s, interleaved, 2 rounds (order reversed in the second)
for r in 1 2; do
  if [ $r = 1 ]; then order="base new1 new2"; else order="new2 new1 base"; fi
  for l in $order; do d=/tmp/edge41/$l; [ $l = base ] && d=$B
    FROM=3000 SPAN=20000 bash benchmarks/scripts/alloc.sh $l-r$r $d/Parley.Server.dll $O/alloc 1000
  done
done
echo AB2-DONE
