#!/bin/bash
# cold push A/B of JIT settings for the pipeline's process, interleaved
ROOT=${ROOT:-$(cd "$(dirname "$0")/../../../.." && pwd)}; cd $ROOT
B=$ROOT/benchmarks/Parley.Push.Benchmarks/bin/Release/net10.0/Parley.Push.Benchmarks.dll
for r in 1 2 3; do
  for side in def q0 q0p0; do
    case $side in def) PE="";; q0) PE="DOTNET_TC_QuickJit=0";; q0p0) PE="DOTNET_TC_QuickJit=0 DOTNET_TieredPGO=0";; esac
    B=$B PIPE_ENV="$PE" bash benchmarks/scripts/push.sh ${OUT:-/tmp/lead43}/jit/$side-$r 1 > ${OUT:-/tmp/lead43}/jit/$side-$r.log 2>&1
  done
done
echo done > ${OUT:-/tmp/lead43}/jit/DONE
