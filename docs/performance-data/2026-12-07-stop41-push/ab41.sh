#!/bin/bash
# ab41.sh <outdir> : stop 41's push A/B, base against new, interleaved (base, new, base, new, ...) with stop 40's ab.sh
# (push.sh: 2,000 Xiaomi devices x 10 IM messages = 20,000 device-pushes, durable SQLite journal, the loopback MiPush
# endpoint in its own process, one endpoint build for both sides: new's). Three loads: cold (3 rounds), after a
# 5-message warm-up (3 rounds, the figure stop 40 reported) and after a 20-message warm-up (3 rounds: the steady state,
# the JIT done in both processes). Then many small messages (3 rounds): 5,000 1:1 messages x 2 devices after a 5-message
# warm-up, submitted as PushBridge hands a backlog to the pipeline (GROUP=64: up to 64 messages per submit; base41's
# benchmark ignores GROUP and submits one at a time, as base41's bridge does). About 3-4 minutes on a quiet machine, 8 at most.
#   BASE=<dir with base's Parley.Push.Benchmarks.dll> NEW=<dir with new's> bash ab41.sh <outdir>
# New's benchmark (stop 41) also prints the SQLite writer's time and I/O per device-push; base41's does not.
set -e
out=$1; mkdir -p $out
here=$(cd "$(dirname "$0")/../../.." && pwd)
: ${BASE:?BASE=<base build dir>} ${NEW:?NEW=<new build dir>}
ab=$here/docs/performance-data/2026-12-06-stop40-push/ab.sh
echo "== cold";     WARMUP=0  bash $ab $out/cold 3   | tail -2
echo "== warm 5";   WARMUP=5  bash $ab $out/warm5 3  | tail -2
echo "== warm 20";  WARMUP=20 bash $ab $out/warm20 3 | tail -2
echo "== small: 5,000 messages x 2 devices, warm 5, grouped submits"; GROUP=64 SHAPE="2 5000" WARMUP=5 bash $ab $out/small 3 | tail -2
echo "== new's SQLite writer and I/O per device-push"
for f in $out/*/new-r*/push-r1.txt; do echo "$f: $(grep -hE '^SQLite writer|^I/O' $f | tr '\n' ' ')"; done
