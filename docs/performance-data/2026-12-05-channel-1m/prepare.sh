#!/bin/bash
# Builds the prepared stores quiet.sh and quiet-100k.sh run against (issue 12), in STORES (default /work/stores/super):
# ch10k and ch1m (channels of 10,000 and 1,000,000 members, users lt-ch-N, owner lt-ch-0), sg100k (a super group of
# 100,000 members, users lt-sg-N). Needs: dotnet build benchmarks/Parley.Benchmarks -c Release -p:ParleySpaBuild=false
set -u
cd "$(git -C "$(dirname "$0")" rev-parse --show-toplevel)"
S=${STORES:-/work/stores/super}
mkdir -p $S
[ -d $S/ch10k ] || benchmarks/scripts/super-store.sh $S/ch10k 10000 channel lt-ch- ch10k
[ -d $S/ch1m ] || benchmarks/scripts/super-store.sh $S/ch1m 1000000 channel lt-ch- ch1m
[ -d $S/sg100k ] || benchmarks/scripts/super-store.sh $S/sg100k 100000 super lt-sg- sg100k
du -sh $S/*
