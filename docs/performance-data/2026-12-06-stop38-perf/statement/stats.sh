#!/bin/bash
# stats.sh <parley.db> [user] : SQLite's own counters (sqlite3 CLI `.stats on`: page cache hits/misses, VM steps,
# automatic-index inserts) for one user's fresh sync (cursor 0, 201 per conversation), old and new statements of stop 38,
# and again on a copy with 50,000 unrelated member_periods rows. The db: a server data directory's parley.db after the
# generator's freshlogin seeding (3,000 users, 10 groups of 50 each, 21 messages per group), read-only.
here=$(cd "$(dirname "$0")" && pwd); db=$1; tmp=$(mktemp -d)
user=${2:-$(sqlite3 -readonly $db "SELECT user_id FROM members LIMIT 1")}
convs=$(sqlite3 -readonly -json $db "$(sed "s/\$user/'$user'/; s/\$since/0/g" $here/views-old.sql)" | python3 -c 'import json,sys; print(json.dumps([r["conversation_id"] for r in json.load(sys.stdin)]))')
run() { # <db> <sql file> <label>
  { echo ".parameter init"; echo ".parameter set \$user '$user'"; echo ".parameter set \$since 0"; echo ".parameter set \$limit 201"
    echo ".parameter set \$convs '$convs'"; echo ".stats on"; cat $2; } | sqlite3 -readonly $1 > $tmp/out 2>&1
  printf '%-34s output lines %4s | %s\n' "$3" "$(grep -ac '^[^ ].*|' $tmp/out)" \
    "$(grep -a 'Page cache hits\|Page cache misses\|Virtual Machine Steps\|Autoindex Inserts' $tmp/out | sed 's/  */ /g' | tr '\n' ';')"
}
cp $db $tmp/p.db
sqlite3 $tmp/p.db "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM n WHERE i<50000) INSERT INTO member_periods SELECT 'x'||(i%5000), 'u'||i, 1, 5 FROM n;"
echo "user $user, $(echo $convs | tr ',' '\n' | wc -l) conversations"
for d in "$db:" "$tmp/p.db:+50k periods"; do
  f=${d%%:*}; tag=${d#*:}
  run $f $here/views-old.sql "views, old $tag"; run $f $here/views-new.sql "views, new $tag"
  run $f $here/messages-old.sql "messages, old $tag"; run $f $here/messages-new.sql "messages, new $tag"
done
rm -rf $tmp
