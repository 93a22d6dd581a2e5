#!/usr/bin/env bash
# member.sh: the sync's messages for a member (u0000, conversation big) at stop 47's five cursors, main d1d01eb's statement
# (main48.sql) and stop 48's (after48.sql, a former member's branch added): root buffers of the second, warm run.
here=$(cd "$(dirname "$0")" && pwd)
run="$here/../../2026-12-07-stop47-pg/sync/run.sh"
out=$(mktemp -d)
PREP="$here/main48.sql" NAME=sync_main48 bash "$run" > "$out/main.txt" 2>&1
PREP="$here/after48.sql" NAME=sync_after48 bash "$run" > "$out/new.txt" 2>&1
paste <(grep -E "^===" "$out/main.txt" | cut -c5-) <(grep -E "^   Buffers" "$out/main.txt" | awk 'NR % 2 == 1' | sed 's/ *Buffers: //') \
      <(grep -E "^   Buffers" "$out/new.txt" | awk 'NR % 2 == 1' | sed 's/ *Buffers: //') | awk -F'\t' '{printf "%-45s main %-20s new %s\n", $1, $2, $3}'
rm -rf "$out"
