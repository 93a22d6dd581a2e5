#!/bin/bash
# soak-ab.sh <out> <label=server dll>... : soak-short.sh once per label, in the order given (name a build twice to
# interleave, e.g. base=A new=B new2=B base2=A), then per label what soak-io.py reads from its /proc samples: KB read and
# written, calls and CPU ms per accepted message per minute, and the soak's own summary lines. MINUTES (default 2), RATE
# (default 2000), USERS (default 2000), STEP (default 5) and extra server settings in SRVENV (NAME=VALUE ...) go to every run.
here=$(cd "$(dirname "$0")" && pwd)
out=$1; shift; mkdir -p $out
for spec in "$@"; do
  label=${spec%%=*}; dll=${spec#*=}
  MINUTES=${MINUTES:-2} RATE=${RATE:-2000} USERS=${USERS:-2000} STEP=${STEP:-5} bash $here/soak-short.sh $out $label $dll $SRVENV > $out/$label.summary.txt 2>&1
done
for spec in "$@"; do
  label=${spec%%=*}
  echo "== $label"; python3 $here/soak-io.py $out/$label 60; grep -E '^\[parley soak r1\] [0-9]+ min at' $out/$label.summary.txt
done | tee $out/table.txt
