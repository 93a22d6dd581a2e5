#!/bin/bash
# push-prof.sh <label> <outdir> [devices=2000] [messages=10] : where the push pipeline's own CPU and allocation go, with the
# vendor endpoint out of process (`dotnet $B sim`). Two runs of the push benchmark (B, default the worktree's build):
# 1. `perf record -e cpu-clock -c 1000000 -g` of the benchmark's process over its throughput phase (JIT frames from the perf
#    map; W^X off so that JIT frames resolve by name) -> <label>.perf.txt (`perf script`) and <label>.fold.txt (fold.py: inclusive and self ms per frame);
# 2. `dotnet-trace --clrevents gc --clreventlevel verbose` (AllocationTick, one sample per ~100 KB) of the whole benchmark
#    -> <label>.nettrace and alloc-sites.cs' <label>.sites.txt, scaled to the benchmark's KB per device-push.
# Env: B, TRACE (dotnet-trace), A (alloc-sites dll; built as alloc.sh does), WARMUP (push.sh's), SIMPROF=1 (the vendor
# endpoint's process recorded too over the same window -> <label>.sim.fold.txt; both processes' self samples by module ->
# <label>.modules.txt and <label>.sim.modules.txt), NOALLOC=1 (skip the allocation run).
set -e
label=$1; out=$2; devices=${3:-2000}; messages=${4:-10}; mkdir -p $out; out=$(realpath $out)
here=$(cd "$(dirname "$0")" && pwd)
B=${B:-$here/../Parley.Push.Benchmarks/bin/Release/net10.0/Parley.Push.Benchmarks.dll}
trace=${TRACE:-$HOME/.dotnet/tools/dotnet-trace}
: > $out/$label.sim.txt
env ${SIMPROF:+DOTNET_PerfMapEnabled=1 DOTNET_EnableWriteXorExecute=0} dotnet $B sim > $out/$label.sim.txt 2>&1 & simpid=$!
trap 'kill $simpid 2>/dev/null' EXIT
for i in $(seq 600); do vendor=$(sed -n 's/^listening //p' $out/$label.sim.txt); [ -n "$vendor" ] && break; sleep 0.1; done

# 1. CPU: perf over the throughput phase (from "registering" done to the throughput line).
PUSH_BENCH_VENDOR=$vendor PUSH_BENCH_WARMUP=${WARMUP:-0} DOTNET_PerfMapEnabled=1 DOTNET_EnableWriteXorExecute=0 dotnet $B $devices $messages 1 1 > $out/$label.cpu-run.txt 2>&1 & bpid=$!
for i in $(seq 1200); do grep -q "^registering" $out/$label.cpu-run.txt 2>/dev/null && break; sleep 0.1; done
if [ "${WARMUP:-0}" -gt 0 ]; then for i in $(seq 3000); do grep -q "^warm-up" $out/$label.cpu-run.txt 2>/dev/null && break; sleep 0.1; done; else sleep 3; fi
perf record -e cpu-clock -c 1000000 -g -p $bpid -o $out/$label.perf.data > $out/$label.perf.log 2>&1 & ppid=$!
[ -n "$SIMPROF" ] && { perf record -e cpu-clock -c 1000000 -g -p $simpid -o $out/$label.sim.perf.data > $out/$label.sim.perf.log 2>&1 & sppid=$!; }
for i in $(seq 3000); do grep -qE "^(measured phase ended|throughput)" $out/$label.cpu-run.txt 2>/dev/null && break; sleep 0.05; done
kill -INT $ppid; [ -n "$sppid" ] && kill -INT $sppid; wait $ppid || true; [ -n "$sppid" ] && { wait $sppid || true; }
wait $bpid || true
perf script -i $out/$label.perf.data > $out/$label.perf.txt 2>/dev/null
python3 $here/fold.py $out/$label.perf.txt 60 > $out/$label.fold.txt
perf report -i $out/$label.perf.data --no-children --sort dso --stdio 2>/dev/null | grep -E '^ +[0-9.]+%' > $out/$label.modules.txt || true
rm -f $out/$label.perf.data
if [ -n "$sppid" ]; then
  perf script -i $out/$label.sim.perf.data > $out/$label.sim.perf.txt 2>/dev/null
  python3 $here/fold.py $out/$label.sim.perf.txt 60 > $out/$label.sim.fold.txt
  perf report -i $out/$label.sim.perf.data --no-children --sort dso --stdio 2>/dev/null | grep -E '^ +[0-9.]+%' > $out/$label.sim.modules.txt || true
  rm -f $out/$label.sim.perf.data
fi
[ -n "$NOALLOC" ] && { echo "$label: $(grep -E '^throughput|^per device|^vendor endpoint' $out/$label.cpu-run.txt | tr '\n' ' ')"; exit 0; }

# 2. Allocation sites.
PUSH_BENCH_VENDOR=$vendor PUSH_BENCH_WARMUP=${WARMUP:-0} $trace collect --clrevents gc --clreventlevel verbose -o $out/$label.nettrace -- dotnet $B $devices $messages 1 1 > $out/$label.alloc-run.txt 2>&1 || true
kb=$(sed -nE 's/.*allocated ([0-9.]+) KB.*/\1/p' $out/$label.alloc-run.txt)
if [ -z "$A" ]; then
  d=/tmp/parley-alloc-sites; A=$d/bin/Release/net10.0/alloc-sites.dll
  if [ ! -f $A ]; then
    mkdir -p $d && cp $here/alloc-sites.cs $d/Program.cs
    printf '%s\n' '<Project Sdk="Microsoft.NET.Sdk">' '  <PropertyGroup><OutputType>Exe</OutputType><TargetFramework>net10.0</TargetFramework><ImplicitUsings>enable</ImplicitUsings><Nullable>disable</Nullable></PropertyGroup>' \
      '  <ItemGroup><PackageReference Include="Microsoft.Diagnostics.Tracing.TraceEvent" Version="3.1.21" /></ItemGroup>' '</Project>' > $d/alloc-sites.csproj
    dotnet build -c Release $d > $d/build.log 2>&1 || tail -20 $d/build.log
  fi
fi
dotnet $A $out/$label.nettrace ${kb:-1} 12 > $out/$label.sites.txt 2>&1 || true
echo "$label: $(grep -E '^throughput|^per device' $out/$label.cpu-run.txt | tr '\n' ' ')"
