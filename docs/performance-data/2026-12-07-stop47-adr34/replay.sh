#!/bin/bash
# replay.sh <new root> <base root> <out>: wal-replay.py (stop 45 tail's replay of a warm fixed-pair commit in the server's
# schema, through Python's SQLite, a count independent of the machine's load) on an empty database migrated by each build's
# server (base: ix_messages_conv_version; new: ADR 0034's ix_messages_changed and ix_messages_anchor), 4 KiB pages, commits
# of 7 and 32 messages; both runs replay the same messages (the script's fixed seed). WAL frames per message, base vs new.
# SYNC=OFF: wal-replay.py with synchronous=OFF while measuring (the WAL's growth is the same; at load
# 100 each fsync took up to a second): the figures in replay/ came from it, ROUNDS=1 COMMITS=80.

new=$(realpath $1); base=$(realpath $2); out=$3; mkdir -p $out
source $new/benchmarks/scripts/lib.sh
for b in base new; do
  root=$([ $b = new ] && echo $new || echo $base)
  (cd /tmp && start_server $root/src/Parley.Server/bin/Release/net10.0/Parley.Server.dll "" && wait_ready \
    && rm -f $out/empty-$b.db && sqlite3 $dir/data/parley.db "VACUUM INTO '$out/empty-$b.db'"; stop_server)
  sqlite3 $out/empty-$b.db "SELECT name, sql FROM sqlite_master WHERE tbl_name = 'messages' AND type = 'index'" > $out/indexes-$b.txt
done
for b in base new; do
  echo "## $b"; PREFILL=${PREFILL:-100} ROUNDS=${ROUNDS:-1} COMMITS=${COMMITS:-80} SYNC=OFF python3 $new/benchmarks/scripts/wal-replay.py $out/empty-$b.db $out/work-$b 4096 7,32
done | tee $out/replay.txt
rm -rf $out/work-base $out/work-new $out/empty-base.db $out/empty-new.db
