#!/bin/bash
# quiet.sh [out]: stop 48 adr34's key A/B for the lead, NEW=<build root> BASE=/work/base48 (each a checkout with its Release
# server built). The sync statement's page visits (a count, load-independent) as each build runs it, on one store of
# 1,031,000 messages (sync-store.sql, ~1-2 minutes to build once into $out), read from each build's own
# Parley.Storage.Sqlite.dll by reflection (sync-pages48.cs): conversation 1 (31,000 messages, seq 100 edited above every
# cursor), 3 (1,000, seq 5 edited), 2 (1,000, no edits); then the anchor at 16 against 64 on NEW's statement (a copy of the
# store with the anchor index rebuilt). Then the CPU per execution of each build's statement (VMSTEP=1: prepared once, stepped
# 2,000 times; base's readers with SQLite's default temp_store, new's with MEMORY as new's readers set it), conversations 2
# and 3, base new new base. Prints two tables; every line in $out/sync-pages.txt and $out/sync-cpu.txt.
set -e
out=${1:-/tmp/q48adr34}; mkdir -p $out
here=$(cd "$(dirname "$0")" && pwd)
NEW=$(realpath ${NEW:?NEW=<build root>}); BASE=$(realpath ${BASE:-/work/base48})
asp=$(ls -d $(dirname $(readlink -f $(which dotnet)))/shared/Microsoft.AspNetCore.App/* | sort -V | tail -1)
if [ ! -f $out/sync.db ]; then sqlite3 $out/sync.db < $here/sync-store.sql > /dev/null; fi
if [ ! -f $out/sync16.db ]; then
  cp $out/sync.db $out/sync16.db
  sqlite3 $out/sync16.db "DROP INDEX ix_messages_anchor; CREATE INDEX ix_messages_anchor ON messages (conv_key, search_id) WHERE seq % 16 = 0;"
fi
cp $here/sync-pages48.cs $out/
(cd $out && dotnet build sync-pages48.cs > build.log 2>&1) || { tail -20 $out/build.log; exit 1; }
run() { # <label> <root> <db> [spacing]
  local srv=$2/src/Parley.Server/bin/Release/net10.0
  for k in "1 si_peer-0001_reader-0001 reader-0001" "3 si_peer-0003_reader-0003 reader-0003" "2 si_peer-0002_reader-0002 reader-0002"; do
    (cd $out && DEPS=$srv:$asp dotnet run --no-build sync-pages48.cs -- $3 $1 $srv/Parley.Storage.Sqlite.dll $k $4 2>&1 | grep "page visits")
  done
}
{ run base $BASE $out/sync.db; run new $NEW $out/sync.db; run new-a16 $NEW $out/sync16.db 16; } > $out/sync-pages.txt
python3 - $out/sync-pages.txt <<'PY'
import re, sys, collections
rows = collections.OrderedDict()
for line in open(sys.argv[1]):
    m = re.match(r"(\S+) conv (\d+) \((\d+) messages\) cursor (.*?): (\d+) rows above, (\d+) returned \(seq sum (\d+)\), (\d+) page visits", line)
    if m:
        label, conv, total, cursor, above, n, ssum, pages = m.groups()
        rows.setdefault((conv, total, cursor, above), {})[label] = (int(pages), (n, ssum))
print("| conversation | cursor | rows above | base | new | new, anchor every 16th | same rows |")
print("|---|---|---:|---:|---:|---:|---|")
for (conv, total, cursor, above), v in rows.items():
    same = len({r for _, r in v.values()}) == 1
    print(f"| {conv} ({total} msgs) | {cursor} | {above} | {v.get('base', ('-',))[0]} | {v.get('new', ('-',))[0]} | {v.get('new-a16', ('-',))[0]} | {'yes' if same else 'NO'} |")
PY

for b in base new new base; do
  root=$([ $b = new ] && echo $NEW || echo $BASE); srv=$root/src/Parley.Server/bin/Release/net10.0
  ts=$([ $b = new ] && echo MEMORY || echo DEFAULT)
  for k in "2 si_peer-0002_reader-0002 reader-0002" "3 si_peer-0003_reader-0003 reader-0003"; do
    (cd $out && PRAGMAS="PRAGMA temp_store=$ts" VMSTEP=1 DEPS=$srv:$asp dotnet run --no-build sync-pages48.cs -- sync.db $b $srv/Parley.Storage.Sqlite.dll $k 2>&1 | grep "page visits")
  done
done > $out/sync-cpu.txt
python3 - $out/sync-cpu.txt <<'PY'
import re, sys, collections
rows = collections.OrderedDict()
for line in open(sys.argv[1]):
    m = re.match(r"(\S+) conv (\d+) .*?cursor (.*?): (\d+) rows above, (\d+) returned.*?(\d+) VM steps, sorts (\d+), (\d+) us CPU raw", line)
    if m:
        label, conv, cursor, above, n, steps, sorts, us = m.groups()
        rows.setdefault((conv, cursor, n), {}).setdefault(label, []).append((int(us), int(steps)))
print()
print("| conversation | cursor | rows | base us CPU (2 runs) | new us CPU (2 runs) | VM steps base / new |")
print("|---|---|---:|---|---|---|")
for (conv, cursor, n), v in rows.items():
    b, w = v.get("base", []), v.get("new", [])
    print(f"| {conv} | {cursor} | {n} | {', '.join(str(x[0]) for x in b)} | {', '.join(str(x[0]) for x in w)} | {b[0][1] if b else '-'} / {w[0][1] if w else '-'} |")
PY
