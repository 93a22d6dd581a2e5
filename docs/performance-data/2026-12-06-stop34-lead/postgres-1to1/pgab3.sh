#!/bin/bash
# Pair 3: both sides with the same log levels (appsettings.json's), so that only migration 28's statement differs.
cd /tmp/bscripts
export G=/work/wt/lead/benchmarks/Parley.LoadTest/bin/Release/net10.0/Parley.LoadTest.dll
C="Host=127.0.0.1;Port=60655;Username=postgres;Database=postgres"
busy() { awk "/^cpu /{print \$2+\$3+\$4+\$7+\$8}" /proc/stat; }
for pair in 3 4; do for l in base new; do
  d=$([ $l = base ] && echo push || echo lead); schema=pgab_${l}_$pair
  psql "host=127.0.0.1 port=60655 user=postgres dbname=postgres" -qc "DROP SCHEMA IF EXISTS $schema CASCADE" 2>/dev/null
  t0=$(busy)
  MINUTES=2 RATE=300 bash soak-short.sh /tmp/pgab $l-$pair /work/wt/$d/src/Parley.Server/bin/Release/net10.0/Parley.Server.dll \
    Parley__Storage__Provider=Postgres "Parley__Storage__Postgres__ConnectionString=$C" Parley__Storage__Postgres__Schema=$schema \
    Logging__LogLevel__Polly=Warning Logging__LogLevel__Microsoft.AspNetCore=Warning Logging__LogLevel__Orleans=Warning > /tmp/pgab-$l-$pair.out 2>&1
  t1=$(busy)
  echo "$l-$pair (same log levels) machine busy ticks (user+nice+system+irq+softirq, all processes; 100/s): $((t1 - t0))" | tee -a /tmp/pgab/pgcpu.txt
  psql "host=127.0.0.1 port=60655 user=postgres dbname=postgres" -qc "DROP SCHEMA IF EXISTS $schema CASCADE" 2>/dev/null
done; done
