#!/bin/bash
# waits for the second CI's rc line, stops its PostgreSQL, then the 8-minute soak on its build (stop 42)
while ! grep -q '^rc=' /tmp/ci42b.log; do sleep 5; done
for d in /tmp/parley-ci.*/postgres/data; do [ -d "$d" ] && su postgres -s /bin/sh -c "/usr/lib/postgresql/*/bin/pg_ctl -D $d stop -m fast" ; done
sleep 2
NEW=/tmp/ci42b; N=$NEW/src/Parley.Server/bin/Release/net10.0; NG=$NEW/benchmarks/Parley.LoadTest/bin/Release/net10.0/Parley.LoadTest.dll
echo "soak $(date -u +%T) $(uptime)"
(cd "$(mktemp -d)" && G=$NG MINUTES=8 RATE=2000 STEP=10 bash $NEW/benchmarks/scripts/soak-short.sh /tmp/q42/soak new $N/Parley.Server.dll DOTNET_GCgen0size=0x800000) > /tmp/q42/soak.out 2>&1
python3 $NEW/benchmarks/scripts/soak-io.py /tmp/q42/soak/new 60 > /tmp/q42/soak/io.txt 2>&1
python3 $NEW/benchmarks/scripts/soak-timeline.py /tmp/q42/soak/new.m > /tmp/q42/soak/timeline.txt 2>&1
echo "end $(date -u +%T) $(uptime)"
