#!/bin/bash
# summary.sh <out dir> <label>... : WAL frames per accepted message by group (stop 44 wal's summary.py: the message's own
# B-trees, the derived rows, FTS5) and messages per commit, one row per run; readmap.py's simulated flush lines
# (--flush-ms=100; meaningful for base, which writes the derived rows every commit); the server's CPU µs per delivered
# message over the 20 s window (cpu.txt).
here=$(dirname "$(realpath "$0")")
out=$1; shift
files=(); for l in "$@"; do files+=($out/$l.walmap.txt); done
python3 $here/../2026-12-07-stop44-wal/summary.py "${files[@]}"
echo
for l in "$@"; do
  echo "$l: $(grep -h 'us_per_frame\|cpu_ticks' $out/$l.cpu.txt 2>/dev/null | tr '\n' ' ')"
  grep -h -i "flush" $out/$l.walmap.txt 2>/dev/null | head -4 | sed 's/^/  /'
done
