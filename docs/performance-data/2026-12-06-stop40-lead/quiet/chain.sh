#!/bin/bash
# waits for the CI's rc line, cleans the CI's services, then runs the quiet A/Bs
while ! grep -q '^rc=' /tmp/ci40.log; do sleep 10; done
for d in /tmp/parley-ci.*/postgres/data; do [ -d "$d" ] && su postgres -s /bin/sh -c "/usr/lib/postgresql/*/bin/pg_ctl -D $d stop -m fast" ; done
P=$(ss -ltnp 2>/dev/null | grep ":5080 " | grep -o "pid=[0-9]*" | head -1 | cut -d= -f2); [ -n "$P" ] && kill $P
sleep 2
bash /tmp/q40/all.sh > /tmp/q40/all.log 2>&1
