#!/usr/bin/env bash
# run.sh: clone.sql, then ROUNDS rounds of BATCHES commits of 10 messages per schema (w0 w1 w2 w3; odd rounds in that
# order, even rounds reversed), then the summary per schema and statement (per updated row = per message: each batch's
# conversations are distinct). Needs PGHOST/PGPORT/PGUSER and database pg47 (schema big) from stop 47's setup.cs.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
export PGDATABASE=${PGDATABASE:-pg47}
psql -X -q -f "$here/clone.sql" 2>/dev/null
psql -X -q -c "DROP TABLE IF EXISTS public.walres" -f "$here/bench.sql"
psql -X -q -At -c "SELECT pg_stat_reset_single_table_counters(('w' || i || '.conversations')::regclass) FROM generate_series(0, 3) i" > /dev/null
for r in $(seq 1 ${ROUNDS:-4}); do
  order="w0 w1 w2 w3"; [ $((r % 2)) -eq 0 ] && order="w3 w2 w1 w0"
  for s in $order; do psql -X -q -c "CALL walbench('$s', ${BATCHES:-500}, 10, $r)"; done
done
sleep 2 # the statistics of the last transactions
psql -X -f "$here/summary.sql"
