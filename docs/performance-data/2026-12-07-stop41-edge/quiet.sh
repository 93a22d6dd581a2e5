#!/bin/bash
# quiet.sh <base server dir> <new server dir> [rounds, default 3] : stop 41 edge's A/B, about 5 minutes for 3 rounds.
# Warm 1:1 fixed pairs (1,000 users, one peer each) at a fixed RATE (default 4000 msg/s, under this machine's ~14,000
# saturation) through benchmarks/scripts/step-metrics.sh: per build and round one step (server on CPU 0, durable SQLite,
# generator on CPU 1, 3 s warm-up, WINDOW s measured, default 20), the order reversed every other round. Prints per run
# and as medians per build: server CPU ms per message and KB allocated per message over the generator's measured window
# (its server_cpu_ms_per_msg / server_alloc_bytes_per_msg), send->receive p50/p99/p99.9, delivered/s, lost; writes
# $OUT/summary.txt. Env: G (generator dll; default the base checkout's Release build), OUT (default /tmp/q41edge), RATE,
# WINDOW. Example: G=/work/base41/benchmarks/Parley.LoadTest/bin/Release/net10.0/Parley.LoadTest.dll \
#   bash quiet.sh /work/base41/src/Parley.Server/bin/Release/net10.0 $NEW/src/Parley.Server/bin/Release/net10.0 3
base=$(realpath $1); new=$(realpath $2); rounds=${3:-3}
here=$(cd "$(dirname "$0")/../../../benchmarks/scripts" && pwd)
export G=${G:-$(realpath $base/../../../../..)/benchmarks/Parley.LoadTest/bin/Release/net10.0/Parley.LoadTest.dll}
export RATE=${RATE:-4000} WINDOW=${WINDOW:-20}
out=${OUT:-/tmp/q41edge}; mkdir -p $out
echo "G=$G RATE=$RATE WINDOW=$WINDOW rounds=$rounds $(date -u +%FT%TZ) $(uptime)" | tee $out/summary.txt
for r in $(seq $rounds); do
  if [ $((r % 2)) = 1 ]; then order="base=$base/Parley.Server.dll new=$new/Parley.Server.dll"
  else order="new=$new/Parley.Server.dll base=$base/Parley.Server.dll"; fi
  echo "round $r: $(uptime)" >> $out/summary.txt
  bash $here/step-metrics.sh $out $order > $out/round-$r.log 2>&1
done
python3 - $out <<'PY' | tee -a $out/summary.txt
import json, glob, statistics, sys, os, re
out = sys.argv[1]
rows = {}
for f in sorted(glob.glob(f"{out}/*-[0-9]*.json")):
    label, n = re.match(r"(.+)-(\d+)\.json$", os.path.basename(f)).groups()
    m = json.load(open(f))["steps"][0]["Metrics"]
    rows.setdefault(label, []).append((int(n), m))
keys = [("server_cpu_ms_per_msg", "CPU ms/msg", 4), ("server_alloc_bytes_per_msg", "KB/msg", 3), ("p50_ms", "p50 ms", 2),
        ("p99_ms", "p99 ms", 1), ("p999_ms", "p99.9 ms", 1), ("delivered_per_s", "delivered/s", 0), ("lost", "lost", 0)]
def val(m, k):
    v = m.get(k)
    if v is None: return None
    return v / 1024 if k == "server_alloc_bytes_per_msg" else v
print("| run | " + " | ".join(h for _, h, _ in keys) + " |")
print("|---|" + "---:|" * len(keys))
for label in sorted(rows):
    for n, m in sorted(rows[label]):
        print(f"| {label}-{n} | " + " | ".join("-" if val(m, k) is None else f"{val(m, k):.{d}f}" for k, _, d in keys) + " |")
for label in sorted(rows):
    cells = []
    for k, _, d in keys:
        vs = [val(m, k) for _, m in rows[label] if val(m, k) is not None]
        cells.append(f"{statistics.median(vs):.{d}f}" if vs else "-")
    print(f"| **{label} median** | " + " | ".join(cells) + " |")
PY
