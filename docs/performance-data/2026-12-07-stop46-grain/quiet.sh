#!/bin/bash
# quiet.sh [out]: stop 46 grain's quiet A/B (issue 17: the 1:1 grain bound at a high random-pair rate), about 3 minutes,
# nothing else running. NEW = the CI's clean clone (required), BASE = /work/base46 unless set. ab.sh, builds interleaved
# (base, new, new, base): random pairs among 1,000 users at 11,000 msg/s (one step, 1 s warm-up and an 8 s window: ~100,000
# messages, past Parley:Orleans:DirectMaxActive's 50,000 1:1 grains, so the bound sheds during the window), the server on
# CPU 0 and the generator (NEW's) on CPU 1, durable SQLite. Then ab-counts.py: per run the delivered msg/s, the messages
# accepted, the conversation activations Orleans created and per accepted message (<= 1 with random pairs unless grains are
# activated again), NEW's 1:1 grains registered/shed/kept busy, and the GC heap; the medians per build. Writes <out>/table.md
# and <out>/server-log-counts.txt (the events of the stop-45 bound's defect per run: none expected on new).
set -e
NEW=${NEW:?set NEW to the CI clone}
BASE=${BASE:-/work/base46}
out=${1:-/tmp/grain-quiet46-$(date -u +%H%M%S)}
srv=src/Parley.Server/bin/Release/net10.0/Parley.Server.dll
mkdir -p $out
G=$NEW/benchmarks/Parley.LoadTest/bin/Release/net10.0/Parley.LoadTest.dll RATES=11000 \
  GARGS="--chat-peers 0 --chat-users 1000 --window 8 --every-step" \
  bash $NEW/benchmarks/scripts/ab.sh $out 1 chat base=$BASE/$srv new=$NEW/$srv
G=$NEW/benchmarks/Parley.LoadTest/bin/Release/net10.0/Parley.LoadTest.dll RATES=11000 \
  GARGS="--chat-peers 0 --chat-users 1000 --window 8 --every-step" \
  bash $NEW/benchmarks/scripts/ab.sh $out/r2 1 chat new=$NEW/$srv base=$BASE/$srv
for f in $out/r2/*-r1.*; do b=$(basename $f); mv $f $out/${b/-r1./-r2.}; done
# Per run, the server log's events that the stop-45 bound caused when the node was behind (then the logs go: they name users).
for f in $out/*.server.log; do
  echo "$(basename $f .server.log): $(grep -c 'uniqueness rule; rolled back' $f) group commits rejected by a uniqueness rule (4010), $(grep -c 'Group commit of' $f) retried item by item (2001), $(grep -c 'invalid activation' $f) one-way sends answered Unavailable from an invalid activation (2260)"
done | tee $out/server-log-counts.txt
rm -f $out/*.server.log
python3 $NEW/benchmarks/scripts/ab-counts.py $out | tee $out/table.md
