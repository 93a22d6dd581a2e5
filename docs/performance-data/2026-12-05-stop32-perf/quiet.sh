#!/bin/bash
# quiet.sh <this stop's server dir> [stop 31's server dir, default /tmp/q31/final] [out, default /tmp/q32/fresh] : issue 17's
# fresh-device login on quiet cores, 3 interleaved rounds of stop 31's final build against this stop's, as stop 31's
# closing measured it (2,000 new devices x 10 groups of 50 x 21 messages). About 3-4 minutes. Needs: src/Parley.Server and
# benchmarks/Parley.LoadTest built (Release) in the checkout this runs from. Prints logins/s, CPU and KB per login per run.
here=$(cd "$(dirname "$0")/../../.." && pwd)
new=$1; old=${2:-/tmp/q31/final}; out=${3:-/tmp/q32/fresh}
export G=${G:-$here/benchmarks/Parley.LoadTest/bin/Release/net10.0/Parley.LoadTest.dll}
GARGS="--login-users 2000 --fresh-conversations 10 --fresh-messages 20 --fresh-group-size 50" \
  bash $here/benchmarks/scripts/ab.sh $out 3 freshlogin q31=$old/Parley.Server.dll main=$new/Parley.Server.dll
grep -h 'fresh logins' $out/*-r?.log
