#!/bin/bash
cd /work/wt/lead
for v in new1 base1; do
  d=/tmp/lead40a; [ $v = base1 ] && d=/tmp/base40/server
  G=/tmp/base40/gen/Parley.LoadTest.dll MINUTES=3 RATE=2000 nice -n -15 bash benchmarks/scripts/soak-short.sh /tmp/soak40 $v $d/Parley.Server.dll > /tmp/soak40/$v.out 2>&1
  rm -f /tmp/soak40/$v.server.log
done
