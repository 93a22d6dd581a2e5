#!/bin/bash
# quiet.sh: stop 46, bp (ADR 0031, the bound on outstanding send work): an overload of each build, base46 then new, about
# 100 s each (under 4 min in all): 1:1 random pairs among 2,000 users offered at RATE (14,000 msg/s: ~2x one core's
# random-pair saturation) for one 60-s soak minute plus the generator's 10-s drain, the server on CPU 1 and the generator on
# CPU 0 (benchmarks/scripts/soak-short.sh). Both runs use NEW's generator (it counts busy refusals apart; base never sends
# one). Prints per build: the messages the server accepted per second over the 60 s from its first one, its peak RSS and GC heap, the sends
# refused as busy, the peak outstanding send work, and the generator's loss check (acked but not stored/delivered).
# Usage: NEW=<CI clone> bash quiet.sh [outdir]   (BASE defaults to /work/base46)
set -u
BASE=${BASE:-/work/base46}; NEW=${NEW:?set NEW to the CI clone}
out=${1:-/tmp/bp-quiet-$(date +%H%M%S)}; mkdir -p $out
here=$NEW/benchmarks/scripts
export G=$NEW/benchmarks/Parley.LoadTest/bin/Release/net10.0/Parley.LoadTest.dll
for label in base new; do
  [ $label = base ] && root=$BASE || root=$NEW
  MINUTES=1 RATE=${RATE:-14000} USERS=2000 STEP=5 bash $here/soak-short.sh $out $label $root/src/Parley.Server/bin/Release/net10.0/Parley.Server.dll > $out/$label.run.txt 2>&1
  rm -f $out/$label.server.log
done
python3 - "$out" <<'PY'
import os, re, sys
out = sys.argv[1]
def val(page, name):
    for l in open(page, errors='replace'):
        if l.startswith(name) and (len(l) == len(name) or l[len(name)] in ' {'):
            return float(l.split()[-1])
    return None
print(f'{"build":<5} {"offered/s":>9} {"accepted/s":>10} {"peak RSS MB":>11} {"GC heap MB":>10} {"busy":>8} {"outstanding max":>15} {"lost":>6}')
for label in ('base', 'new'):
    log = open(f'{out}/{label}.log', errors='replace').read()
    m = re.search(r'minute 1\] sent (\d+)/s .* lost (\d+)', log)
    busy = re.search(r'refused \d+ \(busy (\d+)\)', log)
    heap = re.search(r'minute 1\] conversation grains.*gc heap ([-0-9.]+) MB', log)
    rss = max((int(l.split()[2]) for l in open(f'{out}/{label}.rss') if len(l.split()) > 2 and l.split()[2].isdigit()), default=0)
    pages = sorted(os.listdir(f'{out}/{label}.m'))
    acc = [(int(p[:5]), val(f'{out}/{label}.m/{p}', 'parley_messages_accepted_total')) for p in pages]
    acc = [a for a in acc if a[1] is not None]
    # over the minute: from the first page with an accepted message to the last page within 60 s of it
    acc = [a for a in acc if a[1] > 0]
    win = [a for a in acc if acc and a[0] <= acc[0][0] + 60]
    rate = (win[-1][1] - win[0][1]) / max(1, win[-1][0] - win[0][0]) if len(win) > 1 else float('nan')
    outs = [val(f'{out}/{label}.m/{p}', 'parley_send_outstanding') for p in pages]
    outs = [o for o in outs if o is not None]
    print(f'{label:<5} {m.group(1) if m else "?":>9} {rate:>10.0f} {rss / 1024:>11.0f} {heap.group(1) if heap else "?":>10} '
          f'{busy.group(1) if busy else "0":>8} {max(outs) if outs else float("nan"):>15.0f} {m.group(2) if m else "?":>6}')
PY
echo "raw: $out (the /metrics pages every 5 s, RSS, the generator's log); accepted/s is the server's counter over the 60 s from its first accepted message"
