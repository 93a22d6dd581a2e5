#!/bin/bash
# quiet.sh <out dir>: issue 18, stop 32, for the lead's quiet run (at most 6 min; about 3-4 min expected). Three steps:
#  1. SQLite, 10M stored messages, through the server on one core: the stop-31 script
#     (docs/performance-data/2026-12-05-search-10m/quiet.sh) on the kept store /tmp/edge-bench/m10 with QUERIES=100
#     (26 s at stop 31's quiet run), with this stop's server (the walk split, 539a8c9).
#  2. The same on /tmp/edge-opt (a copy of that store whose full-text index was merged into one FTS5 segment with
#     'optimize', 62 s; the stop-31 store has 7), QUERIES=100: what the index's segment count costs each search.
#  3. PostgreSQL, 10M stored messages (database edge_search_10m of the dev PostgreSQL, built by `search-postgres`), in
#     process through PostgresMessageStore.SearchAsync: every first page's statements under EXPLAIN (ANALYZE, BUFFERS),
#     then QUERIES_PG (default 30) interleaved rounds of the six cases (p50/p99); not paged to the end (--to-end false).
#  Then the PostgreSQL database is dropped and /tmp/edge-opt deleted (6.5 GB and 5.8 GB); /tmp/edge-bench/m10 is kept
#  (delete it with `rm -rf /tmp/edge-bench` when no longer needed). KEEP=1 skips the clean-up (for a check of the script).
# Builds needed (Release, from main at or after the commit that added this script, copied out of bin/):
#   dotnet build src/Parley.Server -c Release -p:ParleySpaBuild=false           -> S (directory of Parley.Server.dll)
#   dotnet build benchmarks/Parley.Benchmarks -c Release -p:ParleySpaBuild=false -> B (directory of Parley.Benchmarks.dll)
# Needs `source /work/dev/env` (PARLEY_TEST_POSTGRES).
# Example: source /work/dev/env; S=/tmp/q32/server B=/tmp/q32/bench bash docs/performance-data/2026-12-05-stop32-search/quiet.sh /tmp/q32/search
set -u
out=${1:?out dir}
: "${S:?set S to the directory of Parley.Server.dll}" "${B:?set B to the directory of Parley.Benchmarks.dll}" "${PARLEY_TEST_POSTGRES:?source /work/dev/env first}"
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$out"
start=$(date +%s)
QUERIES=${QUERIES:-100} bash "$here/../2026-12-05-search-10m/quiet.sh" /tmp/edge-bench/m10 "$out/sqlite-7-segments"
if [ -f /tmp/edge-opt/data/parley.db.complete-10000000 ]; then
  QUERIES=${QUERIES:-100} bash "$here/../2026-12-05-search-10m/quiet.sh" /tmp/edge-opt "$out/sqlite-1-segment"
fi
{ echo "postgres $(date -u +%FT%TZ)"; uptime; } > "$out/postgres-machine.txt"
taskset -c 1 dotnet "$B/Parley.Benchmarks.dll" search-postgres --postgres "$PARLEY_TEST_POSTGRES" --database edge_search_10m \
  --messages 10000000 --queries "${QUERIES_PG:-30}" --to-end false 2>&1 | tee "$out/postgres-10m.txt"
cp /tmp/edge-pg-plans.txt "$out/postgres-10m-plans.txt" 2>/dev/null
uptime >> "$out/postgres-machine.txt"
if [ "${KEEP:-0}" != 1 ]; then
  dotnet "$B/Parley.Benchmarks.dll" search-postgres --postgres "$PARLEY_TEST_POSTGRES" --database edge_search_10m --drop true
  rm -rf /tmp/edge-opt
fi
echo "total $(( $(date +%s) - start )) s" | tee "$out/total.txt"
