#!/bin/bash
# Usage: storage.sh <server bin dir> <label> <port> <members>
# As ../2026-12-04-supergroup/storage.sh (the supergroup scenario against a server started here, then dbstat over the
# members table and its indexes), for the layout of SQLite migration 26: members keyed by conversation_keys.conv_key,
# so the key map and its unique index are counted too, and the id lengths come through the key map.
set -u
BIN=$1; LABEL=$2; PORT=$3; MEMBERS=${4:-5000}
GEN=${GEN:-benchmarks/Parley.LoadTest/bin/Release/net10.0/Parley.LoadTest.dll}
mkdir -p /tmp/sgbench
S=$(openssl rand -hex 32); D=$(mktemp -d /tmp/sgbench/data-$LABEL-XXXX)
uptime | sed "s/^/[$LABEL] before: /"
Parley__Admin__Secret=$S Parley__Storage__DataDirectory=$D Parley__RateLimits__Enabled=false Logging__LogLevel__Default=Warning \
  dotnet $BIN/Parley.Server.dll --urls http://127.0.0.1:$PORT > /tmp/sgbench/server-$LABEL.log 2>&1 &
PID=$!
for i in $(seq 1 600); do curl -sf http://127.0.0.1:$PORT/readyz >/dev/null && break; sleep 0.5; done
PARLEY_ADMIN_SECRET=$S dotnet $GEN --scenarios supergroup --targets parley \
  --server-url http://127.0.0.1:$PORT/ --server-pid $PID --super-members $MEMBERS --super-online 50 --super-rate 5 \
  --resume-groups 100 --resume-changed 5 --warmup 1 --window 5 --drain 10 --out /tmp/sgbench/result-$LABEL.json 2>&1 | grep -v "^\s*$" | tail -8
kill -TERM $PID; wait $PID
uptime | sed "s/^/[$LABEL] after: /"
sqlite3 $D/parley.db "SELECT '$LABEL', name, SUM(pgsize), SUM(ncell), SUM(payload) FROM dbstat WHERE name IN ('members','ix_members_user_feed','ix_members_conv_info','ix_members_user_info','ix_members_conv_role','member_inviters','sqlite_autoindex_member_inviters_1','conversation_keys','sqlite_autoindex_conversation_keys_1') GROUP BY name;"
sqlite3 $D/parley.db "SELECT '$LABEL rows', COUNT(*), AVG(length(k.conversation_id)), AVG(length(m.user_id)) FROM members m JOIN conversation_keys k ON k.conv_key = m.conv_key;"
sqlite3 $D/parley.db "SELECT '$LABEL bytes per member', ROUND(SUM(pgsize) * 1.0 / (SELECT COUNT(*) FROM members), 1) FROM dbstat WHERE name IN ('members','ix_members_user_feed','ix_members_conv_info','ix_members_user_info','ix_members_conv_role','member_inviters','sqlite_autoindex_member_inviters_1','conversation_keys','sqlite_autoindex_conversation_keys_1');"
echo "$D"
