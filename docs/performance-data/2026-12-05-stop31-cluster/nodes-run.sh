#!/bin/bash
cd /work/wt/lead
export DLL=/tmp/q31/final/Parley.Server.dll G=/tmp/q31/finalgen/Parley.LoadTest.dll PRIME=8
for r in 1 2; do
  if [ $r = 1 ]; then order="1 2 3"; else order="3 2 1"; fi
  for n in $order; do
    TAG=chat-n$n-r$r bash benchmarks/scripts/cluster-nodes.sh /tmp/q31/nodes $n --scenarios chat --chat-peers 1 --chat-rates 300,600,1200,1800,2400,3000,3600 --runs 1 --warmup 2 --window 5
    TAG=group-n$n-r$r bash benchmarks/scripts/cluster-nodes.sh /tmp/q31/nodes $n --scenarios group --group-size 500 --group-rates 50,100,200,400,800,1200 --runs 1 --warmup 2 --window 5
  done
done
echo ALLDONE
