#!/bin/bash
# Quiet sweep of issue 17's targets on the base build (c5f25aa), relay in the same invocation.
G=/tmp/base40/gen/Parley.LoadTest.dll; S=/tmp/base40/server/Parley.Server.dll; O=/tmp/sweep40
common="--start-server $S --taskset-server 0 --taskset-generator 1 --warmup 1 --window 4"
cd /tmp
echo "A $(date -u +%T) $(uptime)"
dotnet $G $common --runs 3 --scenarios chat --chat-peers 1 --targets parley,relay --chat-rates 2000,4000,6000,8000,12000,16000 --out $O/A-fixed.json > $O/A-fixed.log 2>&1
echo "B $(date -u +%T) $(uptime)"
dotnet $G $common --runs 1 --scenarios chat --chat-peers 0 --chat-users 1000 --targets parley,relay --chat-rates 1000,2000,3000,4000,6000 --out $O/B-random.json > $O/B-random.log 2>&1
echo "C $(date -u +%T) $(uptime)"
dotnet $G $common --runs 1 --scenarios group --group-size 500 --targets parley,relay --group-rates 500,1000,2000,4000 --out $O/C-group.json > $O/C-group.log 2>&1
echo "D $(date -u +%T) $(uptime)"
dotnet $G $common --runs 1 --scenarios chat,openim --chat-peers 1 --targets parley --chat-rates 2000,4000,6000,8000 --out $O/D-openim.json > $O/D-openim.log 2>&1
echo "E $(date -u +%T) $(uptime)"
dotnet $G $common --runs 1 --scenarios login --targets parley,relay --out $O/E-login.json > $O/E-login.log 2>&1
echo "end $(date -u +%T) $(uptime)"
