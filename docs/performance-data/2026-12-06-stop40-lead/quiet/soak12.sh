#!/bin/bash
while ! grep -q "^end" /tmp/q40/all.log; do sleep 5; done
cd /work/main
G=/tmp/base40/gen/Parley.LoadTest.dll MINUTES=12 RATE=2000 bash benchmarks/scripts/soak-short.sh /tmp/q40/soak12 new-gen0 /tmp/ci40/src/Parley.Server/bin/Release/net10.0/Parley.Server.dll DOTNET_GCgen0size=0x800000 > /tmp/q40/soak12.out 2>&1
rm -f /tmp/q40/soak12/*.server.log
echo done >> /tmp/q40/soak12.out
