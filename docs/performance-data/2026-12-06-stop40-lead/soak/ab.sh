#!/bin/bash
# search on vs off, 3-minute soaks at 2,000/s, niced -15 against the helpers' builds
cd /work/wt/lead
for v in nofts2 fts2; do
  extra=""; [ $v = nofts2 ] && extra=Parley__Messaging__FullTextSearch=false
  G=/tmp/base40/gen/Parley.LoadTest.dll MINUTES=3 RATE=2000 nice -n -15 bash benchmarks/scripts/soak-short.sh /tmp/soak40 $v /tmp/base40/server/Parley.Server.dll $extra > /tmp/soak40/$v.out 2>&1
done
