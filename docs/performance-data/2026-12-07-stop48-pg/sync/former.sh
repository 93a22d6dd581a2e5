#!/usr/bin/env bash
# former.sh: the sync's messages for a former member on the 1M-message store (stop 47's pg47, schema big): u0001 made a
# former member of "big" (100,050 messages) who saw seqs 1-50,000 (row inactive, one closed period), in a transaction
# rolled back; main's statement (main48.sql) and stop 48's (after48.sql) at a fresh device (cursor 0) and at cursor 450001
# (seq ~44,000 of big: ~6,000 of their rows above it).
here=$(cd "$(dirname "$0")" && pwd)
export PGDATABASE=${PGDATABASE:-pg47} PGOPTIONS="-c search_path=big"
setup="UPDATE members SET active = false WHERE conv_key = (SELECT conv_key FROM conversation_keys WHERE conversation_id = 'big') AND user_id = 'u0001';
       INSERT INTO member_periods (conversation_id, user_id, from_seq, to_seq) VALUES ('big', 'u0001', 1, 50000);"
for w in main48 after48; do
  for cur in 0 450001; do
    psql -X -q -f "$here/$w.sql" -c "BEGIN" -c "$setup" \
      -c "EXPLAIN (ANALYZE, BUFFERS, COSTS OFF, TIMING OFF) EXECUTE sync_$w('u0001', $cur, ARRAY['big'], 201)" \
      -c "EXPLAIN (ANALYZE, BUFFERS, COSTS OFF, TIMING OFF) EXECUTE sync_$w('u0001', $cur, ARRAY['big'], 201)" \
      -c "\\o /tmp/former.$$.$w.$cur" -c "EXECUTE sync_$w('u0001', $cur, ARRAY['big'], 201)" -c "\\o" -c "ROLLBACK" > /tmp/former.$$.plan
    echo "$w cursor $cur: rows $(grep -c '^ big' /tmp/former.$$.$w.$cur), first/last seq $(grep '^ big' /tmp/former.$$.$w.$cur | sed -n '1p;$p' | awk -F'|' '{print $2}' | tr -d ' ' | tr '\n' ' '), root $(grep -E '^   Buffers' /tmp/former.$$.plan | sed -n 3p | sed 's/ *//'), execution $(grep 'Execution Time' /tmp/former.$$.plan | tail -1 | sed 's/ *//')"
  done
done
for cur in 0 450001; do cmp -s /tmp/former.$$.main48.$cur /tmp/former.$$.after48.$cur && echo "cursor $cur: same rows" || echo "cursor $cur: ROWS DIFFER"; done
rm -f /tmp/former.$$.*
