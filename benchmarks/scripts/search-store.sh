#!/bin/bash
# search-store.sh <dir> <messages> <rounds> <label=Parley.Benchmarks.dll[@extra args]>...: issue 18's search cases on an existing store
# (built by `search-server --build bulk --build-only true --dir <dir> --messages <messages>`), timed in-process through
# SqliteMessageStore.SearchAsync by each build in turn (`search-server --measure store`), pinned to CPU ${CPU:-1},
# <rounds> rounds interleaved, QUERIES (default 30) per case per run. Prints each run's table (pages read, p50/p99, CPU
# per query) into $OUT (default /tmp/search-store-<time>) and the load average before each run. Extra arguments after @ go
# to that build's run, e.g. unbounded=B/Parley.Benchmarks.dll@--allowance 2147483647 (the store's row allowance).
set -u
dir=$1 messages=$2 rounds=$3; shift 3
OUT=${OUT:-/tmp/search-store-$(date -u +%H%M%S)}; mkdir -p $OUT
for r in $(seq $rounds); do
  for b in "$@"; do
    label=${b%%=*} dll=${b#*=} extra=""
    [[ "$dll" == *@* ]] && extra=${dll#*@} && dll=${dll%%@*}
    echo "=== $label r$r $(date -u +%H:%M:%S) load $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a $OUT/summary.txt
    taskset -c ${CPU:-1} dotnet $dll search-server --messages $messages --dir $dir --measure store --queries ${QUERIES:-30} $extra \
      > $OUT/$label-r$r.txt 2>&1
    grep -E "^(case|all|one) " $OUT/$label-r$r.txt | tee -a $OUT/summary.txt
  done
done
echo "# done $(date -u +%H:%M:%S), output in $OUT"
