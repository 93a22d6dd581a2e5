#!/bin/bash
# waits for the CI's rc line, stops the CI's services, then runs the quiet runs (stop 43)
while ! grep -q '^rc=' /tmp/ci43.log; do sleep 10; done
for d in /tmp/parley-ci.*/postgres/data; do [ -d "$d" ] && su postgres -s /bin/sh -c "/usr/lib/postgresql/*/bin/pg_ctl -D $d stop -m fast" ; done
sleep 2
bash /tmp/q43/all.sh > /tmp/q43/all.log 2>&1
