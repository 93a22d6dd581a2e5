#!/bin/bash
# quiet.sh : issue 17 (stop 48, pipe): the commit pipeline's and the SQLite writer's loops on dedicated threads, against
# base. NOT on main: NEW=<a Release build of branch pipe-s48-threads> (its server dir; stop 48's build is kept in
# /tmp/pipe48/threads-server), BASE=<base server dir or checkout> (default /work/base48). The question for a quiet run:
# does the dedicated-threads build cost more CPU per message than base when the server is not contended (under load it
# did, +3-12 %, with 2.5x the context switches), and is its hand-off (writer queue wait) p99 lower. Fixed pairs at 4,000 and 7,000
# msg/s (RATES), 10 s windows (WINDOW), the server on CPU 1 and the generator on CPU 0 (SERVER_CPU, GEN_CPU), each run
# benchmarks/scripts/step-metrics.sh, interleaved base/new then new/base per rate, ROUNDS (default 2) times; EXTRA=
# NAME=VALUE,... adds server settings to both. Then sum.py: per run p50/p99/p99.9/max, CPU ms per message, the SQLite
# writer's queue wait (the hand-off) mean/p99, the send hops 'batch' and 'commit' p99, transaction and batch means, the
# writer's catch-up checkpoints; and the medians per label.
# Landing rule: new's CPU ms per message not above base's (then its queue wait and hop 'batch' p99 decide).
# OUT (default /tmp/q48pipe); summary.txt at the end. About 4.5 minutes on a quiet machine (ROUNDS=2), then
# cswitch.sh's context switches per message for each build.
here=$(cd "$(dirname "$0")" && pwd); scripts=$here/../../../benchmarks/scripts
base=${BASE:-/work/base48}; [ -d $base/src/Parley.Server/bin ] && base=$base/src/Parley.Server/bin/Release/net10.0
new=${NEW:?NEW=<new server dir>}; [ -d $new/src/Parley.Server/bin ] && new=$new/src/Parley.Server/bin/Release/net10.0
out=${OUT:-/tmp/q48pipe}; mkdir -p $out
export WINDOW=${WINDOW:-10} PEERS=1 SERVER_CPU=${SERVER_CPU:-1} GEN_CPU=${GEN_CPU:-0}
extra=${EXTRA:+@$EXTRA}
for round in $(seq ${ROUNDS:-2}); do
  for rate in ${RATES:-4000 7000}; do
    order="base$rate=$base/Parley.Server.dll$extra new$rate=$new/Parley.Server.dll$extra"
    [ $((round % 2)) = 0 ] && order="new$rate=$new/Parley.Server.dll$extra base$rate=$base/Parley.Server.dll$extra"
    for pair in $order; do
      echo "== ${pair%%=*} $(date -u +%H:%M:%S) $(uptime)" | tee -a $out/uptime.txt
      RATE=$rate bash $scripts/step-metrics.sh $out $pair > /dev/null 2>&1
    done
  done
done
python3 $here/sum.py $out | tee $out/summary.txt
# context switches per message, each build once at 4,000 msg/s in the normal scheduler (cswitch.sh; ~40 s)
RT=0 bash $here/cswitch.sh $out/cs base=$base/Parley.Server.dll new=$new/Parley.Server.dll > /dev/null 2>&1
cat $out/cs/cswitch.txt | tee -a $out/summary.txt
