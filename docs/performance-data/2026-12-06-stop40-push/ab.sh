#!/bin/bash
# ab.sh <outdir> [rounds=3] : issue 17's push pipeline, base against new, interleaved (base, new, base, new, ...), with
# benchmarks/scripts/push.sh (2,000 devices x 10 IM messages = 20,000 device-pushes, durable SQLite journal, the
# loopback MiPush endpoint in its own process). One endpoint build for both sides (SIMB, default NEW's), so that only
# the pipeline differs. About 30-60 s per round on a quiet machine: 3 rounds each take 4-6 minutes.
#   BASE=<dir with base's Parley.Push.Benchmarks.dll> NEW=<dir with new's> bash ab.sh <outdir> 3
# SHAPE="<devices> <messages>" (stop 41) runs another shape, e.g. SHAPE="2 5000": 5,000 1:1 messages of 2 devices each.
# Build a side: git worktree add /tmp/pb <commit> && dotnet build -c Release /tmp/pb/benchmarks/Parley.Push.Benchmarks
#   (its dll: /tmp/pb/benchmarks/Parley.Push.Benchmarks/bin/Release/net10.0/).
set -e
out=$1; rounds=${2:-3}; mkdir -p $out
here=$(cd "$(dirname "$0")/../../.." && pwd)
: ${BASE:?BASE=<base build dir>} ${NEW:?NEW=<new build dir>}
SIMB=${SIMB:-$NEW/Parley.Push.Benchmarks.dll}
for r in $(seq 1 $rounds); do
  for side in base new; do
    dir=$BASE; [ $side = new ] && dir=$NEW
    SIMB=$SIMB B=$dir/Parley.Push.Benchmarks.dll bash $here/benchmarks/scripts/push.sh $out/$side-r$r 1 ${SHAPE:-} > $out/$side-r$r.summary.txt 2>&1 || true
    echo "$side r$r: $(grep -h '^throughput' $out/$side-r$r/push-r1.txt) | $(grep -h '^per device' $out/$side-r$r/push-r1.txt)"
  done
done | tee $out/ab.txt
python3 - "$out" <<'PY'
import sys, re, glob, statistics
out = sys.argv[1]
for side in ("base", "new"):
    rate, cpu, kb, tx = [], [], [], []
    for f in sorted(glob.glob(f"{out}/{side}-r*/push-r1.txt")):
        t = open(f).read()
        m = re.search(r"= (\d+) /s \(submit", t); rate += [int(m.group(1))] if m else []
        m = re.search(r"CPU (\d+) us, allocated ([\d.]+) KB, SQLite transactions ([\d.]+)", t)
        if m: cpu.append(int(m.group(1))); kb.append(float(m.group(2))); tx.append(float(m.group(3)))
    med = lambda v: statistics.median(v) if v else float("nan")
    print(f"{side}: device-pushes/s {rate} (median {med(rate)}); CPU us/push {cpu} (median {med(cpu)}); KB/push {kb}; SQLite transactions/push {tx}")
PY
