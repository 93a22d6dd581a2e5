#!/bin/bash
# quiet.sh <new server dir> <base server dir> [out, default /tmp/q38] : issue 17's logins on quiet cores, new build (main
# after stop 38) against a base build (main 4394c42: `git -C /work/main archive 4394c42 | tar -x -C <dir>`, then
# `dotnet build src/Parley.Server -c Release` there; perf left one in /tmp/perf38/base on this machine), 3 interleaved
# rounds each of (1) the fresh-device login (3,000 new devices x 10 groups of 50 x 21 messages, as stops 36-37) and
# (2) the returning login (12,000 users, empty sync). About 15 minutes, nothing else running. Needs
# benchmarks/Parley.LoadTest built (Release) in the checkout this runs from (or G=<generator dll>). Prints logins/s,
# CPU ms and KB per login and wrong syncs per run.
here=$(cd "$(dirname "$0")/../../.." && pwd)
new=$1; old=$2; out=${3:-/tmp/q38}
export G=${G:-$here/benchmarks/Parley.LoadTest/bin/Release/net10.0/Parley.LoadTest.dll}
GARGS="--login-users 3000 --fresh-conversations 10 --fresh-messages 20 --fresh-group-size 50" \
  bash $here/benchmarks/scripts/ab.sh $out/fresh 3 freshlogin base=$old/Parley.Server.dll new=$new/Parley.Server.dll
GARGS="--login-users 12000 --idle-seconds 1" \
  bash $here/benchmarks/scripts/ab.sh $out/login 3 login base=$old/Parley.Server.dll new=$new/Parley.Server.dll
for f in $out/fresh/*-r?.log; do echo "fresh $(basename $f .log): $(grep 'fresh logins' $f | sed 's/.*= //')"; done
for f in $out/login/*-r?.log; do echo "login $(basename $f .log): $(grep 'login r1\]' $f | sed 's/.*= //')"; done
