#!/bin/bash
# Issue 12: the 100,000-member super group with 2,000 members online, against a 2,000-member ordinary group with the same
# 2,000 online (the baseline, same invocation). The generator starts a fresh server for each scenario (Release, durable
# SQLite in a temp directory, rate limits off) and keeps its data directory and log (--keep-data) for dbstat.
# Usage: run.sh <label> [extra generator options]   (from the repository root, after building Parley.Server and Parley.LoadTest)
set -u
LABEL=$1; shift
OUT=docs/performance-data/2026-12-05-issue12-online
mkdir -p /tmp/super
( while true; do echo "$(date -u +%H:%M:%S) $(cut -d' ' -f1-5 /proc/loadavg)"; sleep 30; done ) > $OUT/load-$LABEL.log &
LOADPID=$!
uptime > $OUT/uptime-$LABEL.txt
dotnet benchmarks/Parley.LoadTest/bin/Release/net10.0/Parley.LoadTest.dll \
  --start-server src/Parley.Server/bin/Release/net10.0/Parley.Server.dll --keep-data \
  --scenarios biggroup,supergroup --targets parley --runs 1 --warmup 5 --window 20 --drain 20 \
  --big-members 2000 --big-online 2000 --big-rate 20 \
  --super-members 100000 --super-online 2000 --super-rate 20 --resume-groups 500 --resume-changed 5 \
  --out /tmp/super/$LABEL.json "$@" 2>&1 | tee $OUT/$LABEL.log
uptime >> $OUT/uptime-$LABEL.txt
kill $LOADPID
cp /tmp/super/$LABEL.json* $OUT/ 2>/dev/null
