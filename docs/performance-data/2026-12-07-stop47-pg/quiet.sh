#!/usr/bin/env bash
# quiet.sh: stop 47 pg's key figures, the shared buffers of PostgreSQL's statements before and after, on the 1M-message
# store of setup.cs (database pg47, schema big: built here first if missing, ~4 minutes). Buffers do not depend on load;
# times are printed for information only. NEW/BASE are accepted for the lead's loop and not used: the statements are the
# files beside this script (before = main 7c1722e's text, after = this stop's), EXPLAIN'd on one server in the same run.
# Needs: source /work/dev/env (PARLEY_TEST_POSTGRES), psql.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cs="${PARLEY_TEST_POSTGRES:?source /work/dev/env}"
get() { sed -n "s/.*$1=\([^;]*\).*/\1/p" <<<"$cs"; }
export PGHOST=$(get Host) PGPORT=$(get Port) PGUSER=$(get Username) PGDATABASE=pg47
if ! psql -X -q -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname = 'pg47'" | grep -q 1; then
  psql -X -q -d postgres -c "CREATE DATABASE pg47"
fi
if ! psql -X -q -tAc "SELECT 1 FROM pg_namespace WHERE nspname = 'big'" | grep -q 1; then
  (cd "$here" && dotnet run setup.cs -- "$cs;Database=pg47" big)
fi
out=$(mktemp -d)
echo "# sync messages (limit 201, one conversation of 100,050 messages, user u0000): root buffers (second, warm run)"
for w in before after; do
  PREP="$here/sync/$w.sql" NAME="sync_$w" bash "$here/sync/run.sh" > "$out/sync-$w.txt" 2>&1
done
paste <(grep -E "^===" "$out/sync-before.txt" | cut -c5-) \
      <(grep -E "^   Buffers" "$out/sync-before.txt" | awk 'NR % 2 == 1' | sed 's/ *Buffers: //') \
      <(grep -E "^   Buffers" "$out/sync-after.txt" | awk 'NR % 2 == 1' | sed 's/ *Buffers: //') | awk -F'\t' '{printf "%-40s before %-32s after %s\n", $1, $2, $3}'
echo "# conversation list page (u0000: 111 conversations), page of 20 at offsets 0 and 100 (each twice)"
for w in before after; do
  psql -X -q -f "$here/list/page-$w.sql" | grep -E "^   Buffers" | awk 'NR % 2 == 1' | sed "s/^/$w /"
done
rm -rf "$out"
