#!/bin/bash
# both spacings, alternating, the same messages (fixed seed)
# replay16.sh: wal-replay.py on base48's freshly migrated empty database (empty-64.db: the server started once, VACUUM INTO) and on a
# copy with ix_messages_anchor rebuilt at seq % 16 (empty-16.db), alternating, 2 rounds, SYNC=OFF, 4 KiB pages, commits of 7 and 32.
cd /tmp/adr3448
for r in 1 2; do for a in 64 16; do
  echo "## anchor every ${a}th seq, round $r"; PREFILL=100 ROUNDS=1 COMMITS=80 SYNC=OFF python3 /work/wt/adr34/benchmarks/scripts/wal-replay.py empty-$a.db work-$a 4096 7,32
  rm -rf work-$a
done; done
