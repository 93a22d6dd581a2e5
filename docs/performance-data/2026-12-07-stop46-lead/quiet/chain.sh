#!/bin/bash
# waits for the CI's rc line, stops the CI's services, checks the README's server command, then the quiet runs (stop 46)
CI=${CI:-/tmp/ci46b}
while ! grep -q '^rc=' $CI.log; do sleep 10; done
for d in /tmp/parley-ci.*/postgres/data; do [ -d "$d" ] && su postgres -s /bin/sh -c "/usr/lib/postgresql/*/bin/pg_ctl -D $d stop -m fast" ; done
sleep 2
grep -q '^rc=0' $CI.log || { echo 'CI failed: no quiet runs'; exit 1; }
CI=$CI bash /tmp/q46/readme.sh > /tmp/q46/readme.out 2>&1
CI=$CI bash /tmp/q46/all.sh > /tmp/q46/all.log 2>&1
