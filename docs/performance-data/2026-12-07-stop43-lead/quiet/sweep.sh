#!/bin/bash
# Quiet sweep of issue 17's targets on the CI's build of main, the relay in the same invocation. $1 server dll, $2 generator dll.
S=$1; G=$2; O=/tmp/q43/sweep; mkdir -p $O
common="--start-server $S --taskset-server 0 --taskset-generator 1 --warmup 1 --window 4"
cd "$(mktemp -d)"
echo "A $(date -u +%T) $(uptime)"
dotnet $G $common --runs 3 --scenarios chat --chat-peers 1 --targets parley,relay --chat-rates 4000,8000,12000,16000,20000 --out $O/A-fixed.json > $O/A-fixed.log 2>&1
echo "B $(date -u +%T) $(uptime)"
dotnet $G $common --runs 1 --scenarios chat --chat-peers 0 --chat-users 1000 --targets parley,relay --chat-rates 1000,2000,3000,4000,6000,8000 --out $O/B-random.json > $O/B-random.log 2>&1
echo "C $(date -u +%T) $(uptime)"
dotnet $G $common --runs 1 --scenarios group --group-size 500 --raw-receivers --targets parley,relay --group-rates 1000,2000,4000,6000 --out $O/C-group.json > $O/C-group.log 2>&1
echo "E $(date -u +%T) $(uptime)"
dotnet $G $common --runs 1 --scenarios login --targets parley,relay --out $O/E-login.json > $O/E-login.log 2>&1
echo "end $(date -u +%T) $(uptime)"
