#!/bin/sh
# Issue 19 campaign throughput, 2026-12-05 (shared 2-core machine, under load). Run from the repository root after
#   dotnet build -c Release src/Parley.Server -p:ParleySpaBuild=false; dotnet build -c Release benchmarks/Parley.LoadTest
out=docs/performance-data/2026-12-05-issue19-campaign
for spec in "10000 20000" "5000 500"; do
  set -- $spec
  uptime > $out/campaign-$1-rate$2.uptime
  dotnet benchmarks/Parley.LoadTest/bin/Release/net10.0/Parley.LoadTest.dll --scenarios campaign --targets parley \
    --campaign-users $1 --campaign-rate $2 --campaign-im-rate 100 \
    --start-server src/Parley.Server/bin/Release/net10.0/Parley.Server.dll --out /tmp/biz-campaign-$1-$2.json \
    > $out/campaign-$1-rate$2.txt 2>&1
  cp /tmp/biz-campaign-$1-$2.json $out/campaign-$1-rate$2.json
  uptime >> $out/campaign-$1-rate$2.uptime
done
