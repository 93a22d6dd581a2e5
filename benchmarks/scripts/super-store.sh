#!/bin/bash
# Usage: super-store.sh <new data dir> <members> [channel|super] [user prefix] [group id]
# Issue 12: prepares a data directory the server opens (Parley__Storage__DataDirectory=<dir>) with one read-diffusion
# group of <members> members and an account for each, written through the store's own APIs by the benchmarks'
# super-store tool (B: Parley.Benchmarks.dll; default this checkout's Release build), then checkpoints the WAL into the
# file and measures with dbstat: bytes per member of the member rows (members, its four indexes, member_inviters,
# conversation_keys: the names of member-storage.sh) and bytes per account (users), and the file size.
# supergroup-prepared.sh runs the generator against such a directory.
# IMPORT=api: the tool writes the accounts and the group with its owner only; then a server (DLL, CPU 0) opens the
# directory and the members come in through the admin API's bulk job (one POST of N-1 ids, polled until it ends): the
# product's whole import path, timed, into the same layout.
set -u
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source $here/lib.sh
B=${B:-$here/../Parley.Benchmarks/bin/Release/net10.0/Parley.Benchmarks.dll}
DLL=${DLL:-$here/../../src/Parley.Server/bin/Release/net10.0/Parley.Server.dll}
D=$1; N=$2; KIND=${3:-channel}; PREFIX=${4:-lt-ch-}; GROUP=${5:-ch$N}; IMPORT=${IMPORT:-store}
uptime | sed "s/^/[super-store $N] before: /"
dotnet $B super-store --members $N --dir $D --kind $KIND --prefix $PREFIX --group $GROUP --import $([ $IMPORT = api ] && echo none || echo store) || exit 1
uptime | sed "s/^/[super-store $N] after: /"
if [ $IMPORT = api ]; then
  start_server $DLL "" Parley__Storage__DataDirectory=$D Logging__LogLevel__Default=Warning
  wait_ready
  echo "[super-store $N] server ready after ${ready_s} s"
  python3 -c "import json,sys; json.dump({'add': ['$PREFIX' + str(i) for i in range(1, $N)]}, sys.stdout)" > $dir/bulk.json
  t0=$(date +%s.%N)
  job=$(curl -sf -H "Authorization: Bearer $secret" -H 'Content-Type: application/json' --data-binary @$dir/bulk.json \
    http://127.0.0.1:$port/admin/v1/groups/$GROUP/members/bulk | jq -r .jobId)
  state=running
  while [ -n "$job" ] && [ "$state" = running ]; do
    sleep 0.5
    state=$(curl -sf -H "Authorization: Bearer $secret" http://127.0.0.1:$port/admin/v1/groups/jobs/$job | jq -r .state)
  done
  t1=$(date +%s.%N)
  echo "[super-store $N] admin API bulk job ${job:-(refused)}: $state; $((N - 1)) members in $(echo "$t1 - $t0" | bc) s = $(echo "($N - 1) / ($t1 - $t0)" | bc)/s (the whole import path: API, job, grain, store)"
  uptime | sed "s/^/[super-store $N] after the API import: /"
  [ "$state" = completed ] || tail -20 $dir/server.log
  stop_pids $spid; rm -rf $dir
  [ "$state" = completed ] || exit 1
fi
sqlite3 $D/parley.db "PRAGMA wal_checkpoint(TRUNCATE);" > /dev/null
M="'members','ix_members_user_feed','ix_members_conv_info','ix_members_user_info','ix_members_conv_role','member_inviters','sqlite_autoindex_member_inviters_1','conversation_keys','sqlite_autoindex_conversation_keys_1'"
sqlite3 $D/parley.db "SELECT 'member rows: ' || name, SUM(pgsize), SUM(ncell), ROUND(SUM(pgsize) * 1.0 / (SELECT COUNT(*) FROM members), 1) FROM dbstat WHERE name IN ($M) GROUP BY name;"
sqlite3 $D/parley.db "SELECT 'bytes per member', ROUND(SUM(pgsize) * 1.0 / (SELECT COUNT(*) FROM members), 1), (SELECT COUNT(*) FROM members), (SELECT AVG(length(user_id)) FROM members) FROM dbstat WHERE name IN ($M);"
sqlite3 $D/parley.db "SELECT 'bytes per account (users)', ROUND(SUM(pgsize) * 1.0 / (SELECT COUNT(*) FROM users), 1), (SELECT COUNT(*) FROM users) FROM dbstat WHERE name = 'users';"
sqlite3 $D/parley.db "SELECT 'whole file', SUM(pgsize), ROUND(SUM(pgsize) * 1.0 / (SELECT COUNT(*) FROM members), 1) FROM dbstat;"
ls -l $D | sed "s/^/[super-store $N] /"
du -sh $D
