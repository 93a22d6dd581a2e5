#!/bin/bash
# waits for the CI's rc line, stops the CI's services, then runs the quiet runs (stop 44)
while ! grep -q '^rc=' /tmp/ci44.log; do sleep 10; done
for d in /tmp/parley-ci.*/postgres/data; do [ -d "$d" ] && su postgres -s /bin/sh -c "/usr/lib/postgresql/*/bin/pg_ctl -D $d stop -m fast" ; done
sleep 2
bash /tmp/q44/all.sh > /tmp/q44/all.log 2>&1
