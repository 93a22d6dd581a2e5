#!/bin/bash
# counts-ab.sh <outdir> <rounds> <rate> <label=dll[@NAME=VALUE ...]>... : perfprof.sh with SYSCALLS=1 per label, rounds
# interleaved (order reversed every other round); then the system calls, context switches and CPU per frame of each run.
here=$(cd "$(dirname "$0")" && pwd)
out=$1; rounds=$2; rate=$3; shift 3; mkdir -p $out
scripts=${SCRIPTS:-$here/../../../benchmarks/scripts}
labels=("$@")
for r in $(seq 1 $rounds); do
  order=("${labels[@]}"); [ $((r % 2)) = 0 ] && order=($(printf '%s\n' "${labels[@]}" | tac))
  for spec in "${order[@]}"; do
    name=${spec%%=*}; rest=${spec#*=}; dll=${rest%%@*}; env=""; [[ $rest == *@* ]] && env=${rest#*@}; env=${env//,/ }
    OUT=$out SYMBOLS=1 SYSCALLS=1 GARGS="--every-step" SRVENV="$env" bash $scripts/perfprof.sh $name-r$r $dll $rate > $out/$name-r$r.run.log 2>&1
    perf script -i $out/$name-r$r.perf.data > $out/$name-r$r.script.txt 2>/dev/null
    python3 $scripts/components.py $out/$name-r$r.script.txt > $out/$name-r$r.components.md
    rm -f $out/$name-r$r.perf.data
    echo "$(date -u +%T) $name-r$r $(head -1 $out/$name-r$r.syscalls.txt) load $(cut -d' ' -f1 /proc/loadavg)" | tee -a $out/runs.txt
  done
done
