#!/bin/bash
# absum.sh <dir> (stop 44 tail): one markdown row per traced run of a stall-timeline.sh SENDTRACE=1 A/B (its .hops and .log): p50 / p99 / p99.9, server CPU, the read wait p99 and share, batch + commit share, read gaps, the thread pool queue in the slow windows
for f in $1/*.hops; do n=$(basename $f .hops)
  lat=$(grep ramp $1/$n.log | head -1 | grep -o 'lat p50 [0-9.]* p90 [0-9.]* p99 [0-9.]* p99.9 [0-9.]*' | awk '{print $3" / "$7" / "$9}')
  cpu=$(grep ramp $1/$n.log | head -1 | grep -o 'srv cpu [0-9]*%' | awk '{print $3}')
  rd=$(grep "^| send returned -> frame read" $f | awk -F'|' '{print $3"|"$5}' | awk -F'/' '{print $3}' )
  rdshare=$(grep "^| send returned -> frame read" $f | awk -F'|' '{print $5}')
  bc=$(grep -E "^\| (batch|commit)" $f | awk -F'|' '{gsub(/[ %]/,"",$5); s+=$5} END {print s" %"}')
  gaps=$(grep "^gaps between" $f | sed 's/.*window: //')
  pend=$(grep "slow messages' windows" $f | grep -o 'max pending p50 [0-9]*' | awk '{print $4}')
  echo "| $n | $lat | $cpu | $rd | $rdshare | $bc | $gaps | $pend |"
done
