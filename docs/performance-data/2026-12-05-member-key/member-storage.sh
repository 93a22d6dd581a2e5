#!/bin/bash
# Usage: member-storage.sh <label> <members>
# One super group of <members> written straight into the SQLite store by the benchmarks' member-storage tool (the
# commits of a bulk admin job, without grain or API), then dbstat over the members table, its indexes and the two key
# maps (the same names as storage.sh), divided by the member rows.
set -u
LABEL=$1; MEMBERS=$2
mkdir -p /tmp/sgbench
D=$(mktemp -d /tmp/sgbench/store-$LABEL-XXXX)
uptime | sed "s/^/[$LABEL] before: /"
dotnet benchmarks/Parley.Benchmarks/bin/Release/net10.0/Parley.Benchmarks.dll member-storage --members $MEMBERS --dir $D
uptime | sed "s/^/[$LABEL] after: /"
N="'members','ix_members_user_feed','ix_members_conv_info','ix_members_user_info','ix_members_conv_role','member_inviters','sqlite_autoindex_member_inviters_1','conversation_keys','sqlite_autoindex_conversation_keys_1'"
sqlite3 $D/parley.db "SELECT '$LABEL', name, SUM(pgsize), SUM(ncell), SUM(payload), ROUND(SUM(pgsize) * 1.0 / (SELECT COUNT(*) FROM members), 1) FROM dbstat WHERE name IN ($N) GROUP BY name;"
sqlite3 $D/parley.db "SELECT '$LABEL rows', COUNT(*), AVG(length(k.conversation_id)), AVG(length(m.user_id)) FROM members m JOIN conversation_keys k ON k.conv_key = m.conv_key;"
sqlite3 $D/parley.db "SELECT '$LABEL bytes per member', ROUND(SUM(pgsize) * 1.0 / (SELECT COUNT(*) FROM members), 1) FROM dbstat WHERE name IN ($N);"
ls -l $D/parley.db* | sed "s/^/[$LABEL] /"
echo "$D"
