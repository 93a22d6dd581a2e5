#!/bin/bash
# cluster-ab.sh <outdir> <rounds> <label=dll>... -- [generator options...]: cluster-kill.sh once per build and round,
# interleaved with the order reversed every other round (A B, B A, A B, ...), the same generator options for all; then the
# table of the runs' summary.txt lines (cluster-summary.py). KILL, KILL_AT, KILL_AFTER and G pass through to cluster-kill.sh.
# Example (the 4012 storm before/after d53bb73, issue 11):
#   KILL=0 cluster-ab.sh storm 2 before=<dll> after=<dll> -- --chat-peers 1 --chat-rates 400 --runs 1 --warmup 2 --window 20 --drain 30
set -u
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
OUT=$1; ROUNDS=$2; shift 2
BUILDS=()
while [ $# -gt 0 ] && [ "$1" != "--" ]; do BUILDS+=("$1"); shift; done
[ "${1:-}" = "--" ] && shift
mkdir -p $OUT
for r in $(seq 1 $ROUNDS); do
  order=("${BUILDS[@]}")
  if [ $((r % 2)) = 0 ]; then order=(); for ((k=${#BUILDS[@]}-1; k>=0; k--)); do order+=("${BUILDS[$k]}"); done; fi
  for b in "${order[@]}"; do
    label=${b%%=*}; dll=${b#*=}
    echo "== $label r$r $(date -u +%T), loadavg $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a $OUT/ab.txt
    DLL=$dll $here/cluster-kill.sh $OUT/$label-r$r "$@" > $OUT/$label-r$r.out 2>&1
    tail -1 $OUT/$label-r$r/summary.txt 2>/dev/null | tee -a $OUT/ab.txt
  done
done
python3 $here/cluster-summary.py $OUT | tee $OUT/table.md
