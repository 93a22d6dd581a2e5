#!/bin/bash
# Stop 43, edge: the lead's quiet A/B after the CI (about 5 minutes on the quiet 2-vCPU VM).
# usage: NEW=<the CI's clean clone> bash quiet-ab.sh [outdir, default /tmp/lead-edge43]
# Fixed pairs (1,000 users, one peer each) through ab.sh, builds interleaved, 2 rounds of: base (/work/base43, its default:
# the request/response send), base with Parley__Messaging__OneWaySend=true, new (its default: the one-way send). Each run
# is a ramp 4,000 -> 8,000 -> 12,000 -> 16,000 -> 20,000 msg/s to saturation, then its half step. The table: CPU ms and KB
# allocated per message at the fixed 4,000 msg/s step (the server's own counters), and the saturation (the highest
# delivered rate of the ramp), every run in brackets.
set -e
NEW=${NEW:?set NEW to the clean clone}; BASE=/work/base43; out=${1:-/tmp/lead-edge43}
srv=src/Parley.Server/bin/Release/net10.0/Parley.Server.dll
cd $NEW
G=$NEW/benchmarks/Parley.LoadTest/bin/Release/net10.0/Parley.LoadTest.dll RATES=4000,8000,12000,16000,20000 \
  bash benchmarks/scripts/ab.sh $out 2 chat base=$BASE/$srv baseon=$BASE/$srv@Parley__Messaging__OneWaySend=true new=$NEW/$srv
python3 benchmarks/scripts/ab-summary.py --runs "$out/{build}-r?.json" --at 4000 base baseon new | tee $out/table.md
