#!/bin/bash
# PostgreSQL 1:1 soak A/B: base 122d802 vs new 9423669 (migration 28's statement on multi-member commits: every new
# 1:1 conversation's first message commits its two members). Server CPU 1, generator CPU 0, PostgreSQL unpinned.
cd /tmp/bscripts
export G=/work/wt/lead/benchmarks/Parley.LoadTest/bin/Release/net10.0/Parley.LoadTest.dll
C="Host=127.0.0.1;Port=60655;Username=postgres;Database=postgres"
pgticks() { awk "/^cpu /{print \$2+\$3+\$4+\$7+\$8}" /proc/stat; }
for pair in 1 2; do for l in base new; do
  d=$([ $l = base ] && echo push || echo lead); schema=pgab_${l}_$pair
  psql "host=127.0.0.1 port=60655 user=postgres dbname=postgres" -qc "DROP SCHEMA IF EXISTS $schema CASCADE" 2>/dev/null
  t0=$(pgticks)
  MINUTES=2 RATE=300 bash soak-short.sh /tmp/pgab $l-$pair /work/wt/$d/src/Parley.Server/bin/Release/net10.0/Parley.Server.dll \
    Parley__Storage__Provider=Postgres "Parley__Storage__Postgres__ConnectionString=$C" Parley__Storage__Postgres__Schema=$schema > /tmp/pgab-$l-$pair.out 2>&1
  t1=$(pgticks)
  echo "$l-$pair machine busy ticks (user+nice+system+irq+softirq, all processes; 100/s): $((t1 - t0))" | tee -a /tmp/pgab/pgcpu.txt
  psql "host=127.0.0.1 port=60655 user=postgres dbname=postgres" -qc "DROP SCHEMA IF EXISTS $schema CASCADE" 2>/dev/null
done; done
