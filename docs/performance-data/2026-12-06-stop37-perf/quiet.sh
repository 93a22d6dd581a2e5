#!/bin/bash
# quiet.sh <main's server dir> [base server dir, default /tmp/perf37/base/src/Parley.Server/bin/Release/net10.0] [out, default /tmp/q37/fresh] :
# issue 17's fresh-device login on quiet cores, 3 interleaved rounds of the build before stop 37's sync cut (2a0f83a; built by
# perf in /tmp/perf37/base, or: git -C /work/main archive 2a0f83a | tar -x -C <dir> and build src/Parley.Server Release there)
# against main's (3,000 new devices x 10 groups of 50 x 21 messages, as stop 36's profiles). About 8 minutes quiet. Needs
# src/Parley.Server and benchmarks/Parley.LoadTest built (Release) in the checkout this runs from. Prints logins/s, CPU ms and
# KB per login and wrong syncs per run.
here=$(cd "$(dirname "$0")/../../.." && pwd)
new=$1; old=${2:-/tmp/perf37/base/src/Parley.Server/bin/Release/net10.0}; out=${3:-/tmp/q37/fresh}
export G=${G:-$here/benchmarks/Parley.LoadTest/bin/Release/net10.0/Parley.LoadTest.dll}
GARGS="--login-users 3000 --fresh-conversations 10 --fresh-messages 20 --fresh-group-size 50" \
  bash $here/benchmarks/scripts/ab.sh $out 3 freshlogin base=$old/Parley.Server.dll main=$new/Parley.Server.dll
for f in $out/*-r?.log; do echo "$(basename $f .log): $(grep 'fresh logins' $f | sed 's/.*= //')"; done
