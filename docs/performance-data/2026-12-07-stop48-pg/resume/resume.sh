#!/usr/bin/env bash
# resume.sh: a returning client's resume views (ChangedViewsSql) for user u0000 (111 conversations) on the 1M-message store
# of stop 47 (database pg47, schema big, at migration 31), main's statement and stop 48's, each case in a transaction
# rolled back: EXPLAIN (ANALYZE, BUFFERS) root buffers of the second (warm) run, and whether both return the same rows.
here=$(cd "$(dirname "$0")" && pwd)
export PGDATABASE=${PGDATABASE:-pg47} PGOPTIONS="-c search_path=big"
others="SELECT c.conversation_id FROM conversations c JOIN conversation_keys k ON k.conversation_id = c.conversation_id
        WHERE c.conversation_id LIKE 'c0%' AND NOT EXISTS (SELECT 1 FROM members m WHERE m.conv_key = k.conv_key AND m.user_id = 'u0000') ORDER BY 1"
run() { # name cursor setup-sql
  local out
  for w in before after; do
    psql -X -q -At -f "$here/views-$w.sql" -c "BEGIN" -c "$3" \
      -c "EXPLAIN (ANALYZE, BUFFERS, COSTS OFF, TIMING OFF) EXECUTE views_$w('u0000', $2, 256, 32)" \
      -c "EXPLAIN (ANALYZE, BUFFERS, COSTS OFF, TIMING OFF) EXECUTE views_$w('u0000', $2, 256, 32)" \
      -c "\\o $tmp/$w.rows" -c "EXECUTE views_$w('u0000', $2, 256, 32)" -c "\\o" -c "ROLLBACK" > "$tmp/$w.plan"
    grep -E "^  Buffers" "$tmp/$w.plan" | sed -n 3p | sed 's/ *Buffers: //' > "$tmp/$w.buf"
  done
  printf "%-58s rows %3s  before %-26s after %-26s %s\n" "$1" "$(wc -l < "$tmp/after.rows")" "$(cat "$tmp/before.buf")" "$(cat "$tmp/after.buf")" \
    "$(cmp -s "$tmp/before.rows" "$tmp/after.rows" && echo same-rows || echo ROWS-DIFFER)"
  [ -n "${PLANS:-}" ] && cp "$tmp/after.plan" "$PLANS/$(echo "$1" | tr -c 'a-z0-9' '_').after.txt" && cp "$tmp/before.plan" "$PLANS/$(echo "$1" | tr -c 'a-z0-9' '_').before.txt"
}
tmp=$(mktemp -d)
run "3 behind, nothing edited since" 1010051 "SELECT 1"
run "3 behind, 1 of the user's conversations edited" 1010051 "UPDATE conversations SET change_version = 1010060 WHERE conversation_id = 'c00042'"
run "3 behind, 31 others' edited (below the limit of 32)" 1010051 "UPDATE conversations SET change_version = 1010060 WHERE conversation_id IN ($others LIMIT 31)"
run "3 behind, 1 user's + 31 others' edited" 1010051 "UPDATE conversations SET change_version = 1010060 WHERE conversation_id IN ($others LIMIT 31) OR conversation_id = 'c00042'"
run "3 behind, 200 others' edited (the limit passed)" 1010051 "UPDATE conversations SET change_version = 1010060 WHERE conversation_id IN ($others LIMIT 200)"
run "10 behind (3 edits of big since)" 1010041 "SELECT 1"
run "fresh device (cursor 0)" 0 "SELECT 1"
rm -rf "$tmp"
