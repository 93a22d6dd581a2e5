#!/bin/bash
# Stop 46, store: the lead's quiet A/B, about 3.5 minutes (nothing else running). Usage: bash quiet.sh <new clone> <base clone> [out]
# e.g. NEW=<the CI's clean clone>; bash $NEW/docs/performance-data/2026-12-07-stop46-store/quiet.sh $NEW /work/base46 /tmp/q46store
# 1. WAL frames per warm message by B-tree and the server's CPU per delivered message: warm 1:1 fixed pairs (1,000 users, 500
#    conversations) at 2,000 msg/s through perfprof.sh WALMAP=1 START=8 (stop 45 derive's method), base then new, both driven
#    by the new clone's generator and scripts. Nothing of store's changed the server at stop 46, so base and new should differ
#    only by the other engineers' changes; the rows to read are the message's own three B-trees (messages, its dedup index
#    sqlite_autoindex_messages_2, ix_messages_conv_version: ~3.5 of ~4.1 frames per message at stop 45).
# 2. btree-model.py (ADR 0034's layouts on Python's SQLite: WAL frames per message by B-tree, a count; CPU per message quiet).
# The sync's bounded walk (stop 46's server change) is a count of pages, not timed here (sync-pages.txt, COMMAND.md).
# summary.md in the output folder has every line.
set -u
new=$(realpath ${1:?new clone}); base=$(realpath ${2:?base clone}); out=${3:-/tmp/q46store}; mkdir -p $out
here=${HERE:-$new/docs/performance-data/2026-12-07-stop46-store}
g=$new/benchmarks/Parley.LoadTest/bin/Release/net10.0/Parley.LoadTest.dll
pp=$new/benchmarks/scripts/perfprof.sh
run() { # label dll
  echo "== $1 $(date -u +%T) load $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a $out/quiet.log
  OUT=$out G=$g WALMAP=1 START=8 bash $pp $1 $2 2000 >> $out/quiet.log 2>&1
  rm -f $out/$1.perf.data $out/$1.walmap.trace
}
run base $base/src/Parley.Server/bin/Release/net10.0/Parley.Server.dll
run new $new/src/Parley.Server/bin/Release/net10.0/Parley.Server.dll
echo "== model $(date -u +%T) load $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a $out/quiet.log
(cd $out && taskset -c 1 python3 $here/btree-model.py 500 7 200 2000 > $out/model.txt 2>&1)
{
  bash $new/docs/performance-data/2026-12-07-stop45-derive/summary.sh $out base new
  echo; echo "## btree-model.py 500 7 200 2000 (ADR 0034)"; cat $out/model.txt
} > $out/summary.md
echo "== done $(date -u +%T)" | tee -a $out/quiet.log
cat $out/summary.md
