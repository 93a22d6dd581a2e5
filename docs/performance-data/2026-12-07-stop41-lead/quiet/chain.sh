#!/bin/bash
# waits for the CI's rc line, cleans the CI's services, then runs the quiet A/Bs (stop 41)
while ! grep -q '^rc=' /tmp/ci41.log; do sleep 10; done
for d in /tmp/parley-ci.*/postgres/data; do [ -d "$d" ] && su postgres -s /bin/sh -c "/usr/lib/postgresql/*/bin/pg_ctl -D $d stop -m fast" ; done
sleep 2
bash /tmp/q41/all.sh > /tmp/q41/all.log 2>&1
