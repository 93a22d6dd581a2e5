#!/bin/bash
# After the final CI: quiet runs on the CI's own build.
set -u
source /work/dev/env
C=/tmp/ci35b
mkdir -p /tmp/q35




echo "start $(date -u +%T) $(uptime)"
DLL=/tmp/q35/server/Parley.Server.dll G=/tmp/q35/gen/Parley.LoadTest.dll bash /tmp/q35/scripts/supergroup-prepared.sh /tmp/q35/pgch 2 ch10k=/tmp/lead-ch10k ch1m=/tmp/lead-ch1m
echo "commit-cost $(date -u +%T) $(uptime)"
taskset -c 0 dotnet /tmp/q35/bench/Parley.Benchmarks.dll commit-cost --messages 4000 --rounds 5 --batches 1,4,16 > /tmp/q35/commit-cost.txt 2>&1
echo "end $(date -u +%T) $(uptime)"
