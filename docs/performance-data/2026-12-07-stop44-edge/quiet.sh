#!/bin/bash
# Stop 44, edge: the lead's quiet A/B after the CI (about 6 minutes, nothing else running).
#   NEW=<the CI's clean clone> bash $NEW/docs/performance-data/2026-12-07-stop44-edge/quiet.sh [outdir]
# Three runs of perfprof.sh (SYMBOLS=1 SYSCALLS=1) at 6,000 msg/s fixed pairs, one each, in this order:
#   base   /work/base44's server (main 8be80dc), its defaults
#   new    the CI's server, its defaults
#   inline the CI's server with Kestrel's inline scheduling (Parley__Gateway__InlineSocketScheduling=true)
# Each: 20 s perf record (the components of the send, components.py), then 10 s perf stat of every server thread (system
# calls and context switches per message) and a 5 s perf trace summary. Prints one table: the server's CPU µs per message
# over the 10 s, the system calls and context switches per message, and the components' shares.
set -u
: "${NEW:?set NEW to the clean clone of the CI}"
out=${1:-/tmp/lead-edge44}; mkdir -p $out
S=$NEW/benchmarks/scripts
export G=$NEW/benchmarks/Parley.LoadTest/bin/Release/net10.0/Parley.LoadTest.dll
run() { # label dll env
  OUT=$out SYMBOLS=1 SYSCALLS=1 GARGS="--every-step" SRVENV="$3" bash $S/perfprof.sh $1 $2 6000 > $out/$1.run.log 2>&1
  perf script -i $out/$1.perf.data > $out/$1.script.txt 2>/dev/null; rm -f $out/$1.perf.data
  echo "$(date -u +%T) $1 $(head -1 $out/$1.syscalls.txt) load $(cut -d' ' -f1 /proc/loadavg)" | tee -a $out/runs.txt
}
run base /work/base44/src/Parley.Server/bin/Release/net10.0/Parley.Server.dll ""
run new $NEW/src/Parley.Server/bin/Release/net10.0/Parley.Server.dll ""
run inline $NEW/src/Parley.Server/bin/Release/net10.0/Parley.Server.dll "Parley__Gateway__InlineSocketScheduling=true"
python3 - $out <<'PY' | tee $out/table.md
import sys, re
out = sys.argv[1]; labels = ["base", "new", "inline"]; rows = {}; us = {}
for l in labels:
    lines = open(f"{out}/{l}.syscalls.txt").read().splitlines()
    us[l] = float(re.search(r"us_per_frame=([\d.]+)", lines[0]).group(1))
    for line in lines:
        m = re.match(r"\| (\S+) \| (\d+) \| ([\d.]+) \|", line)
        if m and m.group(2) != "0": rows.setdefault(m.group(1), {})[l] = m.group(3)
print("| per message (10 s at 6,000 msg/s offered) | " + " | ".join(labels) + " |")
print("|---|" + "---:|" * len(labels))
print("| server CPU µs | " + " | ".join(f"{us[l]:.1f}" for l in labels) + " |")
for k, v in rows.items():
    print(f"| {k} | " + " | ".join(v.get(l, "0") for l in labels) + " |")
PY
python3 $S/components.py $out/base.script.txt $out/new.script.txt $out/inline.script.txt --store | tee -a $out/table.md
grep 'ramp' $out/base.gen.log $out/new.gen.log $out/inline.gen.log | sed "s|^$out/||" | cut -c1-170 > $out/steps.txt
