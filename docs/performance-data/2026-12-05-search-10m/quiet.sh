#!/bin/bash
# quiet.sh <store dir> <out dir>: issue 18's search latency through the server over 10M stored messages (SQLite, the server
# on one core), for the lead's quiet run. The store is the one `search-server --build bulk --messages 10000000` built
# (<store dir>/data/parley.db with its parley.db.complete-10000000 marker; kept on disk, see docs/performance.md "Stop 31,
# issue 18"). What runs: `search-server --measure` through the server (SearchServerBench.MeasureAsync): the reader's hits
# of each case counted through the store first (in this process, paged to the end), then the server started on the store
# pinned to CPU 0 (--server-cpus 0; this client on CPU 1), the reader's account and token through the admin API, and the
# C# SDK's SearchAsync timed: first page of 20, newest first, QUERIES rounds of the six cases interleaved after 5 of
# warm-up (all his conversations: zqxnone 0 hits, zqxten 10, zqxmany 10,000, zqxelse 10 of his and 100,000 of others';
# one conversation: zqxmany, zqxelse), p50/p99/max/mean per case; then the server's CPU per query per case in blocks of
# QUERIES/2; then every case paged to its end through the page tokens (requests, every hit once).
# Builds needed (Release, from main at or after the commit that added this script, copied out of bin/ so a later build
# cannot change them):
#   dotnet build src/Parley.Server -c Release -p:ParleySpaBuild=false        -> S (directory of Parley.Server.dll)
#   dotnet build benchmarks/Parley.Benchmarks -c Release -p:ParleySpaBuild=false -> B (directory of Parley.Benchmarks.dll)
# Duration: 30 s with QUERIES=20 at load 11-19 (5-quiet-check/); with QUERIES=200 (the default) about 1.5-2 min on a
# quiet machine (an estimate), 4 min at most.
# Example: S=/tmp/q31/server B=/tmp/q31/bench bash docs/performance-data/2026-12-05-search-10m/quiet.sh /tmp/edge-bench/m10 /tmp/q31/search-10m
set -u
store=${1:?store dir (holds data/parley.db)}; out=${2:?out dir}
: "${S:?set S to the directory of Parley.Server.dll}" "${B:?set B to the directory of Parley.Benchmarks.dll}"
[ -f "$store/data/parley.db.complete-10000000" ] || { echo "no 10M store in $store (marker data/parley.db.complete-10000000 missing)" >&2; exit 2; }
mkdir -p "$out"
{ echo "quiet.sh $(date -u +%FT%TZ) nproc $(nproc)"; uptime; du -sh "$store/data"; } > "$out/machine.txt"
start=$(date +%s)
taskset -c 1 dotnet "$B/Parley.Benchmarks.dll" search-server --messages 10000000 --dir "$store" --queries "${QUERIES:-200}" \
  --server "$S/Parley.Server.dll" --server-cpus 0 2>&1 | tee "$out/search-10m.txt"
echo "total $(( $(date +%s) - start )) s" | tee -a "$out/machine.txt"
uptime >> "$out/machine.txt"
