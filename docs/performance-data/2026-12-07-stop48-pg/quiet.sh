#!/usr/bin/env bash
# quiet.sh: stop 48 pg's key figures on stop 47's 1M-message PostgreSQL store (database pg47, schema big; built first by
# stop 47's quiet.sh if missing, ~4 minutes, which also prints stop 47's sync and list figures), ~3 minutes otherwise.
# NEW/BASE are accepted for the lead's loop and not used: the statements compared are the texts beside this script (main
# d1d01eb's and this stop's), run on one server in the same run; buffers and WAL records do not depend on load.
#   1. a returning client's resume views, main's statement and this stop's (resume/resume.sh; same rows checked)
#   2. the per-message UPDATE conversations: WAL records, bytes and buffers per message, HOT share (wal/run.sh: copies of
#      the store's conversations in the layout of migration 30, 30 + the change index, and 31)
#   3. why stop 47's quiet run read 407 buffers for the sync 5,000 behind (sync/count.sh)
#   4. the sync's messages of a former member and of a member, main's statement and stop 48's (sync/former.sh, member.sh)
# Needs: source /work/dev/env (PARLEY_TEST_POSTGRES), psql.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cs="${PARLEY_TEST_POSTGRES:?source /work/dev/env}"
get() { sed -n "s/.*$1=\([^;]*\).*/\1/p" <<<"$cs"; }
export PGHOST=$(get Host) PGPORT=$(get Port) PGUSER=$(get Username) PGDATABASE=pg47
if ! psql -X -q -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname = 'pg47'" | grep -q 1 \
   || ! psql -X -q -tAc "SELECT 1 FROM pg_namespace WHERE nspname = 'big'" | grep -q 1; then
  bash "$here/../2026-12-07-stop47-pg/quiet.sh"
fi
if [ "$(PGOPTIONS='-c search_path=big' psql -X -q -tAc 'SELECT MAX(version) FROM schema_migrations')" -lt 31 ]; then
  PGOPTIONS='-c search_path=big' psql -X -q -v ON_ERROR_STOP=1 -f "$here/resume/migration31.sql"
  PGOPTIONS='-c search_path=big' psql -X -q -c "VACUUM ANALYZE conversations"
fi
echo "# 1. resume views of u0000 (111 conversations): root buffers, main's statement vs stop 48's (second, warm run)"
bash "$here/resume/resume.sh"
echo "# 1b. the cluster's gap check (UsersChangedSinceAsync) for 20 users, 3 messages behind: main vs stop 48"
bash "$here/resume/gap.sh"
echo "# 2. per-message UPDATE conversations (w0 = migration 30, w1 = 30 + change index, w2 = 31 in place, w3 = 31 rewritten)"
ROUNDS=${ROUNDS:-2} BATCHES=${BATCHES:-300} bash "$here/wal/run.sh" | sed -n '1,17p;/schemaname/,$p'
echo "# 3. the sync 5,000 behind: the count index-only (all-visible pages) and through the heap"
bash "$here/sync/count.sh"
echo "# 4. the sync's messages: a former member (u0001 of big, seqs 1-50,000 seen), then a member (u0000), main vs stop 48"
bash "$here/sync/former.sh"
bash "$here/sync/member.sh"
