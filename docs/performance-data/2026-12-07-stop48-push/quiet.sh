#!/bin/bash
# Stop 48, push: the quiet A/B of the push pipeline, cold and warm (issue 17: >= 10,000 device-pushes/s, durable SQLite
# journal). base = $BASE (default /work/base48, main d1d01eb's code), new = $NEW (the CI's clean clone, built in Release).
# Cold: 20,000 device-pushes (2,000 Xiaomi devices x 10 IM messages), nothing sent before. Warm: the same 20,000 after a
# warm-up of 5 messages to every device (10,000 device-pushes sent and settled, not measured: JIT, caches, connections).
# The MiPush endpoint out of process (new's build for both sides). Rounds interleaved: cold base new new base base new
# (median of three per build), warm new base base new. About 4 minutes quiet. Usage: NEW=<CI clone> [BASE=/work/base48]
# [BD=<a base build of Parley.Push.Benchmarks.dll>] bash quiet.sh [outdir=/tmp/q48push]
set -u
O=${1:-/tmp/q48push}; mkdir -p $O
BASE=${BASE:-/work/base48}
BD=${BD:-$BASE/benchmarks/Parley.Push.Benchmarks/bin/Release/net10.0/Parley.Push.Benchmarks.dll}
ND=$NEW/benchmarks/Parley.Push.Benchmarks/bin/Release/net10.0/Parley.Push.Benchmarks.dll
[ -f $ND ] || dotnet build -c Release $NEW/benchmarks/Parley.Push.Benchmarks -p:ParleySpaBuild=false > $O/build-new.log 2>&1
# base48's tree has no build of the benchmark: build the same commit's source in a scratch copy (never in $BASE)
if [ ! -f $BD ]; then
  rm -rf $O/base-src; mkdir -p $O/base-src
  git -C $NEW archive d1d01eb3 | tar -x -C $O/base-src
  dotnet build -c Release $O/base-src/benchmarks/Parley.Push.Benchmarks -p:ParleySpaBuild=false > $O/build-base.log 2>&1
  BD=$O/base-src/benchmarks/Parley.Push.Benchmarks/bin/Release/net10.0/Parley.Push.Benchmarks.dll
fi
P=$NEW/benchmarks/scripts/push.sh
run() { WARMUP=$4 B=$2 SIMB=$ND bash $P $O/$5-$1-r$3 1 > /dev/null 2>&1; }
run base $BD 1 0 cold; run new $ND 1 0 cold; run new $ND 2 0 cold; run base $BD 2 0 cold; run base $BD 3 0 cold; run new $ND 3 0 cold
run new $ND 1 5 warm; run base $BD 1 5 warm; run base $BD 2 5 warm; run new $ND 2 5 warm
for f in $O/{cold,warm}-*/push-r1.txt; do echo "$(basename $(dirname $f)): $(grep -oE '= [0-9]+ /s' $f | head -1) | $(grep -oE 'CPU [0-9]+ us, allocated [0-9.]+ KB, SQLite transactions [0-9.]+' $f) | $(grep -oE 'lost [0-9]+, sent twice [0-9]+' $f) | $(grep -oE 'load average: [0-9.]+' $f | head -1)"; done | tee $O/summary.txt
for m in cold warm; do for s in base new; do
  grep -h "^$m-$s-" $O/summary.txt | sed -E 's/.*= ([0-9]+) \/s.*/\1/' | sort -n | awk -v s="$m $s" '{a[NR]=$1} END {print s ": device-pushes/s " a[1] " .. " a[NR] " (" NR " rounds), median " (NR % 2 ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2)}'
done; done | tee -a $O/summary.txt
# FormBody's encoding (stop 48's cut), the byte loop against the runs, in one process (~30 s): ns per MiPush body and the ratio
mkdir -p $O/fbench && cp $(dirname "$0")/formbody-bench.cs $O/fbench/Program.cs
printf '%s\n' '<Project Sdk="Microsoft.NET.Sdk">' '  <PropertyGroup><OutputType>Exe</OutputType><TargetFramework>net10.0</TargetFramework><ImplicitUsings>enable</ImplicitUsings><Nullable>enable</Nullable></PropertyGroup>' '</Project>' > $O/fbench/fbench.csproj
dotnet build -c Release $O/fbench > $O/fbench/build.log 2>&1 && taskset -c 1 dotnet $O/fbench/bin/Release/net10.0/fbench.dll 10 | tee -a $O/summary.txt
