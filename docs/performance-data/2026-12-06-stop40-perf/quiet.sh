#!/bin/bash
# quiet.sh <new server dir> <base server dir> [out, default /tmp/q40perf] : issue 17's logins on quiet cores, new build (the
# CI's Release build of main after stop 40) against a base build (main c5f25aa, the session's start: `git -C /work/main archive
# c5f25aa | tar -x -C <dir>`, then `dotnet build -c Release src/Parley.Server -p:ParleySpaBuild=false` there; perf left one in
# /tmp/perf40/base on this machine), interleaved with the order reversed every other round:
#   (1) FRESH rounds (default 2) of the fresh-device login: 3,000 new devices x 10 groups of 50 x 21 messages (stops 36-39's
#       workload) after a warm-up wave of 1,000 of them;
#   (2) LOGIN rounds (default 2) of the returning login: 12,000 users, empty sync, after a warm-up wave of 3,000.
# One generator drives both builds: this checkout's benchmarks/Parley.LoadTest Release build, or G=<Parley.LoadTest.dll>.
# About 3 minutes on this machine (one round of each took 75 s under load; FRESH=4 LOGIN=3: about 5), nothing else running. Prints logins/s, CPU ms and KB per login, the generator's CPU and
# wrong syncs per run. Server logs are written next to the results by ab.sh: do not commit them.
here=$(cd "$(dirname "$0")/../../.." && pwd)
new=$1; old=$2; out=${3:-/tmp/q40perf}
export G=${G:-$here/benchmarks/Parley.LoadTest/bin/Release/net10.0/Parley.LoadTest.dll}
pair() { if [ $(($1 % 2)) = 1 ]; then echo "base=$old/Parley.Server.dll new=$new/Parley.Server.dll"; else echo "new=$new/Parley.Server.dll base=$old/Parley.Server.dll"; fi; }
for r in $(seq ${FRESH:-2}); do
  GARGS="--login-users 3000 --fresh-conversations 10 --fresh-messages 20 --fresh-group-size 50 --login-warmup 1000" \
    bash $here/benchmarks/scripts/ab.sh $out/fresh-r$r 1 freshlogin $(pair $r) > /dev/null
done
for r in $(seq ${LOGIN:-2}); do
  GARGS="--login-users 12000 --idle-seconds 1 --login-warmup 3000" bash $here/benchmarks/scripts/ab.sh $out/login-r$r 1 login $(pair $r) > /dev/null
done
for f in $out/fresh-r*/*-r1.log; do echo "fresh $(basename $(dirname $f)) $(basename $f -r1.log): $(grep 'fresh logins' $f | sed 's/.*= //')"; done
for f in $out/login-r*/*-r1.log; do echo "login $(basename $(dirname $f)) $(basename $f -r1.log): $(grep 'login r1\]' $f | sed 's/.*= //')"; done
