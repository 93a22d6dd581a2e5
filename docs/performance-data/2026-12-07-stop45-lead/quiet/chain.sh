#!/bin/bash
# waits for the CI's rc line, stops the CI's services, checks the README's server command, then the quiet runs (stop 45)
while ! grep -q '^rc=' /tmp/ci45.log; do sleep 10; done
for d in /tmp/parley-ci.*/postgres/data; do [ -d "$d" ] && su postgres -s /bin/sh -c "/usr/lib/postgresql/*/bin/pg_ctl -D $d stop -m fast" ; done
sleep 2
bash /tmp/q45/readme.sh > /tmp/q45/readme.out 2>&1
bash /tmp/q45/all.sh > /tmp/q45/all.log 2>&1
