#!/bin/bash
while ! grep -q "^done" /tmp/q40/soak12.out 2>/dev/null; do sleep 5; done
cd /work/main
RATES=4000,6000,8000,10000,12000,14000,16000 G=/tmp/base40/gen/Parley.LoadTest.dll bash benchmarks/scripts/ab.sh /tmp/q40/fixedab 2 chat base=/tmp/base40/server/Parley.Server.dll new=/tmp/ci40/src/Parley.Server/bin/Release/net10.0/Parley.Server.dll > /tmp/q40/fixedab.out 2>&1
rm -f /tmp/q40/fixedab/*.server.log
echo done >> /tmp/q40/fixedab.out
