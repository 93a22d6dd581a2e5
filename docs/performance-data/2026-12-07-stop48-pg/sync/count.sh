#!/usr/bin/env bash
# count.sh: why stop 47's quiet run read 407 buffers for the sync 5,000 behind where pg's own run read 120 (task 5).
# The statement counts the rows above the cursor up to 1,000 on ix_messages_conv_version; index only, that is 8 buffers,
# but only where the visibility map marks the heap pages all-visible (after a VACUUM that no older snapshot held back).
# Where it does not (rows since the last vacuum, or a vacuum that could not mark them), each entry is checked in the heap:
# forced here with enable_indexonlyscan off, which reads the same heap pages an index-only scan's heap fetches read.
here=$(cd "$(dirname "$0")" && pwd)
export PGDATABASE=${PGDATABASE:-pg47} PGOPTIONS="-c search_path=big"
sql="$here/../../2026-12-07-stop47-pg/sync/after.sql"
for mode in on off; do
  echo "=== enable_indexonlyscan $mode: sync 5,000 behind (cursor 960001), the count's scan and the root"
  psql -X -q -f "$sql" -c "SET enable_indexonlyscan = $mode" \
    -c "EXPLAIN (ANALYZE, BUFFERS, COSTS OFF, TIMING OFF) EXECUTE sync_after('u0000', 960001, ARRAY['big'], 201);" \
    -c "EXPLAIN (ANALYZE, BUFFERS, COSTS OFF, TIMING OFF) EXECUTE sync_after('u0000', 960001, ARRAY['big'], 201);" \
    | awk 'BEGIN{n=0} /QUERY PLAN/{n++} n==2' > /tmp/count.$$
  echo "root: $(grep -m1 -E '^   Buffers' /tmp/count.$$ | sed 's/ *//')"
  grep -A3 "ix_messages_conv_version on messages b" /tmp/count.$$ | grep -E "Scan|Heap Fetches|Buffers" | sed 's/^ */  /'
  rm -f /tmp/count.$$
done
psql -X -q -At -c "SELECT 'messages: pages ' || relpages || ', all-visible ' || relallvisible FROM pg_class WHERE oid = 'big.messages'::regclass"
