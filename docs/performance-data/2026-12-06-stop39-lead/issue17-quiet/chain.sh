#!/bin/bash
# After CI: cleanup of the CI's services, then the quiet runs, in order.
while ! grep -q "^rc=" /tmp/ci39.log; do sleep 10; done
echo "ci done $(date -u +%T)" >> /tmp/chain39.txt
for d in /tmp/parley-ci.*/postgres/data; do [ -d $d ] && su postgres -c "pg_ctl -D $d stop -m fast" >/dev/null 2>&1 || pg_ctl -D $d stop -m fast >/dev/null 2>&1; done
devredis=$(grep -o 'PARLEY_TEST_REDIS=[^ ]*' /work/dev/env | grep -o '[0-9]\{4,5\}' | head -1)
for p in $(pgrep -f redis-server); do grep -q "$devredis" /proc/$p/cmdline 2>/dev/null || kill $p; done
for p in $(pgrep -f s3rver); do grep -q "/work/dev/" /proc/$p/cmdline 2>/dev/null || kill $p; done
sleep 5
echo "search start $(date -u +%T) load $(cut -d' ' -f1-3 /proc/loadavg)" >> /tmp/chain39.txt
B=/tmp/ci39 OUT=/tmp/q39f VARIANTS="nofts def" ROUNDS=5 bash /work/wt/lead/docs/performance-data/2026-12-06-stop39-lead/run.sh > /tmp/q39f.log 2>&1
echo "edge start $(date -u +%T) load $(cut -d' ' -f1-3 /proc/loadavg)" >> /tmp/chain39.txt
cd /tmp/ci39 && G=/tmp/ci39/benchmarks/Parley.LoadTest/bin/Release/net10.0/Parley.LoadTest.dll OUT=/tmp/q39edge bash docs/performance-data/2026-12-06-stop39-edge/quiet.sh /tmp/edge39-main/src/Parley.Server/bin/Release/net10.0 /tmp/ci39/src/Parley.Server/bin/Release/net10.0 2 > /tmp/q39edge.log 2>&1
echo "perf start $(date -u +%T) load $(cut -d' ' -f1-3 /proc/loadavg)" >> /tmp/chain39.txt
cd /tmp/ci39 && G=/tmp/ci39/benchmarks/Parley.LoadTest/bin/Release/net10.0/Parley.LoadTest.dll GARGS="--login-users 3000 --fresh-conversations 10 --fresh-messages 20 --fresh-group-size 50 --login-warmup 1000" bash benchmarks/scripts/ab.sh /tmp/q39perf/fresh 2 freshlogin base=/tmp/perf39/base/src/Parley.Server/bin/Release/net10.0/Parley.Server.dll new=/tmp/ci39/src/Parley.Server/bin/Release/net10.0/Parley.Server.dll > /tmp/q39perf.log 2>&1
echo "all done $(date -u +%T)" >> /tmp/chain39.txt
