#!/bin/bash
# ab-alloc.sh <outdir> <rounds> <label>=<server build dir>... : benchmarks/scripts/alloc.sh (warm 1:1, --chat-peers 1,
# 1,000 users, 300 msg/s) once per build and round, interleaved, one generator (G) for all. KB per message into
# <outdir>/results.txt. Stop 37 ran it with FROM=3000 SPAN=9000 (the reads start once every pair has sent; ~30 s span).
out=$1; rounds=$2; shift 2
here=$(cd "$(dirname "$0")/../../../benchmarks/scripts" && pwd)
export FROM=${FROM:-3000} SPAN=${SPAN:-9000}
for r in $(seq $rounds); do
  for lv in "$@"; do
    nice -n 10 bash $here/alloc.sh ${lv%%=*}-r$r ${lv#*=}/Parley.Server.dll $out 300
  done
done
grep KB $out/results.txt
