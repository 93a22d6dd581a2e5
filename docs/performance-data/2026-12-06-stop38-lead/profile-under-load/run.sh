#!/bin/bash
# def vs nofts soak with perf (shares only, under load)
B=/tmp/b38; export G=$B/benchmarks/Parley.LoadTest/bin/Release/net10.0/Parley.LoadTest.dll MINUTES=2 RATE=300 PERF_AT=30 PERF_SECS=60
for v in def nofts; do
  case $v in nofts) extra="Parley__Messaging__FullTextSearch=false";; def) extra="Parley__Storage__Sqlite__SearchMergeShare=0.01";; esac
  bash $B/benchmarks/scripts/soak-short.sh /tmp/prof38/soak $v $B/src/Parley.Server/bin/Release/net10.0/Parley.Server.dll $extra DOTNET_PerfMapEnabled=1 DOTNET_EnableWriteXorExecute=0 > /tmp/prof38/$v.out 2>&1
done
echo done
