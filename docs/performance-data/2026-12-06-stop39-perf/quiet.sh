#!/bin/bash
# quiet.sh <new server dir> <base server dir> [out, default /tmp/q39perf] : issue 17's logins on quiet cores, new build
# (main after stop 39) against a base build (main 91459e5, the session's start: `git -C /work/main archive 91459e5 | tar -x
# -C <dir>`, then `dotnet build src/Parley.Server -c Release` there; perf left one in /tmp/perf39/base on this machine),
# interleaved, 3 rounds each of
#   (1) the fresh-device login: 3,000 new devices x 10 groups of 50 x 21 messages (as stops 36-38), after a warm-up wave
#       of 1,000 of them (--login-warmup: the measured wave is the server's steady state, not its JIT);
#   (2) the returning login: 12,000 users, empty sync, after a warm-up wave of 3,000.
# About 14 minutes, nothing else running. Needs benchmarks/Parley.LoadTest built (Release) in the checkout this runs from
# (or G=<generator dll>; it must know --login-warmup, i.e. stop 39 or later). Prints logins/s, CPU ms and KB per login and
# wrong syncs per run; WARM=0 runs without the warm-up waves (stop 38's measurement).
here=$(cd "$(dirname "$0")/../../.." && pwd)
new=$1; old=$2; out=${3:-/tmp/q39perf}
export G=${G:-$here/benchmarks/Parley.LoadTest/bin/Release/net10.0/Parley.LoadTest.dll}
wf=""; wl=""
if [ "${WARM:-1}" != 0 ]; then wf="--login-warmup 1000"; wl="--login-warmup 3000"; fi
GARGS="--login-users 3000 --fresh-conversations 10 --fresh-messages 20 --fresh-group-size 50 $wf" \
  bash $here/benchmarks/scripts/ab.sh $out/fresh 3 freshlogin base=$old/Parley.Server.dll new=$new/Parley.Server.dll
GARGS="--login-users 12000 --idle-seconds 1 $wl" \
  bash $here/benchmarks/scripts/ab.sh $out/login 3 login base=$old/Parley.Server.dll new=$new/Parley.Server.dll
for f in $out/fresh/*-r?.log; do echo "fresh $(basename $f .log): $(grep 'fresh logins' $f | sed 's/.*= //')"; done
for f in $out/login/*-r?.log; do echo "login $(basename $f .log): $(grep 'login r1\]' $f | sed 's/.*= //')"; done
