#!/bin/bash
# cold and warm-20 push A/B of JIT/GC settings for the pipeline's process, interleaved
ROOT=${ROOT:-$(cd "$(dirname "$0")/../../../.." && pwd)}; cd $ROOT
B=$ROOT/benchmarks/Parley.Push.Benchmarks/bin/Release/net10.0/Parley.Push.Benchmarks.dll
for w in 0 20; do
for r in 1 2; do
  for side in q0 q0p0 q0g; do
    case $side in q0) PE="DOTNET_TC_QuickJit=0";; q0p0) PE="DOTNET_TC_QuickJit=0 DOTNET_TieredPGO=0";; q0g) PE="DOTNET_TC_QuickJit=0 DOTNET_GCgen0size=0x800000";; esac
    WARMUP=$w B=$B PIPE_ENV="$PE" bash benchmarks/scripts/push.sh ${OUT:-/tmp/lead43}/jit2/w$w-$side-$r 1 > ${OUT:-/tmp/lead43}/jit2/w$w-$side-$r.log 2>&1
  done
done
done
echo done > ${OUT:-/tmp/lead43}/jit2/DONE
