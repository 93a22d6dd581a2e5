#!/bin/bash
# Stop 47's quiet runs after the clean-clone CI, one after another, nothing else running. $CI = the CI's clone (NEW).
NEW=${CI:-/tmp/ci47b}
export NEW BASE=/work/base47
N=$NEW/src/Parley.Server/bin/Release/net10.0
D=$NEW/docs/performance-data
step() { echo "$1 $(date -u +%T) $(uptime)"; }
left() { echo $(( ( $(date -d "$1" +%s) - $(date +%s) ) / 60 )); }
source /work/dev/env
# the soak first: 20 minutes (up to), ending by 21:24 UTC
m=$(left 21:24); [ $m -gt 14 ] && m=14
if [ $m -ge 8 ]; then step "soak30 $m min"; RATE=2000 USERS=2000 MINUTES=$m bash $NEW/benchmarks/scripts/soak30.sh /tmp/q47/soak30 $N/Parley.Server.dll > /tmp/q47/soak30.out 2>&1; fi
step pg;    bash $D/2026-12-07-stop47-pg/quiet.sh > /tmp/q47/pg.out 2>&1
if [ $(left 21:46) -ge 4 ]; then step bound; bash $D/2026-12-07-stop47-bound/quiet.sh /tmp/q47/bound > /tmp/q47/bound.out 2>&1; fi
if [ $(left 21:46) -ge 4 ]; then step tail;  OUT=/tmp/q47/tail NEW=$N BASE=/work/base47/src/Parley.Server/bin/Release/net10.0 bash $D/2026-12-07-stop47-tail/quiet.sh > /tmp/q47/tail.out 2>&1; fi
if [ $(left 21:46) -ge 4 ]; then step adr34; bash $D/2026-12-07-stop47-adr34/quiet.sh /tmp/q47/adr34 > /tmp/q47/adr34.out 2>&1; fi
if [ $(left 21:46) -ge 4 ]; then step first; bash $D/2026-12-07-stop47-first/quiet.sh /tmp/q47/first > /tmp/q47/first.out 2>&1; fi
if [ $(left 21:46) -ge 3 ]; then step alloc; OUT=/tmp/q47/alloc bash $D/2026-12-07-stop47-alloc/quiet.sh > /tmp/q47/alloc.out 2>&1; fi
if [ $(left 21:46) -ge 4 ]; then step push;  bash $D/2026-12-07-stop47-push/quiet.sh /tmp/q47/push > /tmp/q47/push.out 2>&1; fi
step end
