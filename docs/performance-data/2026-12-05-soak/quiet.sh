#!/usr/bin/env bash
# quiet.sh [outdir]: issue 17's soak as the issue states it, for a QUIET machine (nothing else running): the server pinned
# to CPU 1, the generator to CPU 0, durable SQLite (the server's defaults), rate limits off, Parley:Orleans:IdleAge 2 min.
#   1. saturation of 1:1 random pairs among USERS (default 2,000) users: the generator's chat ramp, 12 s steps,
#      --chat-peers 0 (most messages open a conversation); about 3 min.
#   2. the soak at half of that rate (RATE overrides) for MINUTES (default 30) minutes, on a fresh server: per minute
#      the delivered rate, latency percentiles, the server's peak and mean RSS, CPU, the conversation grains active and
#      created, the GC heap; the summary's rss_settled_spread_pct is the claim to check (issue 17: within +-10 % after
#      the first minutes), and p99 over the soak (target <= 20 ms).
# Takes about MINUTES + 6 minutes (36 min by default). Needs Release builds of src/Parley.Server and
# benchmarks/Parley.LoadTest (dotnet build -c Release -p:ParleySpaBuild=false each) and ~5 GB of free disk for the
# soak's store (deleted at the end with the server's data directory).
set -euo pipefail
qhere=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$qhere/../../.." && pwd)
source "$root/benchmarks/scripts/lib.sh" # G: the generator
S=${S:-$root/src/Parley.Server/bin/Release/net10.0/Parley.Server.dll}
out=${1:-$qhere/quiet-$(date -u +%Y%m%d-%H%M)}
USERS=${USERS:-2000}
MINUTES=${MINUTES:-30}
mkdir -p "$out"
{ date -u; nproc; uptime; } > "$out/machine.txt"

dotnet "$G" --start-server "$S" --taskset-server 1 --taskset-generator 0 --targets parley --runs 1 \
  --scenarios chat --chat-users "$USERS" --chat-peers 0 --chat-rates 500,1000,1500,2000,2500,3000,3500,4000,5000 \
  --warmup 2 --window 10 --out "$out/saturation.json" > "$out/saturation.log" 2>&1 || true
sat=$(python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print(int(next(s for s in d['summaries'] if s['Scenario']=='chat')['Metrics']['sat_msgs_per_s']))" "$out/saturation.json")
rate=${RATE:-$((sat / 2))}
echo "saturation $sat msg/s, soak at $rate msg/s for $MINUTES min" | tee -a "$out/machine.txt"

( for _ in $(seq $((MINUTES + 5))); do echo "$(date -u +%H:%M:%S) $(cut -d' ' -f1-3 /proc/loadavg)"; sleep 60; done ) > "$out/load.txt" &
sampler=$!
dotnet "$G" --start-server "$S" --taskset-server 1 --taskset-generator 0 --targets parley --runs 1 \
  --scenarios soak --chat-users "$USERS" --chat-peers 0 --soak-rate "$rate" --soak-minutes "$MINUTES" \
  --server-env Parley__Orleans__IdleAge=00:02:00 --out "$out/soak.json" > "$out/soak.log" 2>&1 || true
kill $sampler 2>/dev/null || true
uptime >> "$out/machine.txt"
grep -E '^\[parley soak r1( minute [0-9]+\] conversation|\] )' "$out/soak.log" | tail -n $((MINUTES + 1))
