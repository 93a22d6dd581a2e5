#!/usr/bin/env python3
"""cluster-summary.py <outdir>: the markdown table of cluster-ab.sh's runs (<outdir>/<label>-r<N>/summary.txt), in run order,
with the load average before and after each run (run.txt)."""
import os
import re
import sys

out = sys.argv[1]
cols = [
    ("closed_gaps", "gaps closed"),
    ("resynced_4012", "connections closed 4012"),
    ("waited_late", "gaps waited for (late)"),
    ("forward_items_undelivered", "forwarded items not delivered"),
    ("gen_reconnects_after_4012", "gen. reconnects after 4012"),
    ("gen_sent", "sent"),
    ("gen_acked", "acked"),
    ("gen_lost", "lost (gen.)"),
    ("gen_dup", "duplicates (gen.)"),
    ("stored_at_acked_seq", "acked and stored at the acked seq"),
    ("acked_twice", "acked twice"),
    ("gap_conversations", "conversations with a gap"),
    ("versions_twice", "versions used twice"),
]
runs = []
for name in os.listdir(out):
    m = re.fullmatch(r"(.+)-r(\d+)", name)
    path = os.path.join(out, name, "summary.txt")
    if not m or not os.path.exists(path):
        continue
    kv = dict(p.split("=", 1) for p in open(path).read().split())
    run_txt = open(os.path.join(out, name, "run.txt")).read()
    before = re.search(r"loadavg before: (\S+)", run_txt)
    after = re.search(r"loadavg after: (\S+)", run_txt)
    start = re.search(r"^\w{3} \w{3} +\d+ (\d\d:\d\d:\d\d)", run_txt, re.M)
    runs.append((start.group(1) if start else "", name, before.group(1) if before else "?", after.group(1) if after else "?", kv))
runs.sort()
print("| run | start (UTC) | load before → after | " + " | ".join(c[1] for c in cols) + " |")
print("|---|---|---|" + "---:|" * len(cols))
for start, name, before, after, kv in runs:
    print(f"| {name} | {start} | {before} → {after} | " + " | ".join(kv.get(c[0], "?") for c in cols) + " |")
