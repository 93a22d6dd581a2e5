#!/usr/bin/env python3
"""soak-io.py <out>/<label> [seconds per row, default 60]: per interval of a soak-short.sh run, what the server read and
wrote per accepted message (/proc/<pid>/io: rchar/wchar in KB, read/write calls), its CPU ms per message and the messages
accepted (from the /metrics pages taken at the same instants), and the same over the whole run after the first row."""
import os, sys

prefix = sys.argv[1]
every = int(sys.argv[2]) if len(sys.argv) > 2 else 60
rows = []
for line in open(prefix + ".io"):
    p = line.split()
    if len(p) < 2:
        continue
    t, ticks = int(p[0]), int(p[1])
    io = dict(zip(p[2::2], p[3::2]))
    page = f"{prefix}.m/{t:05d}.txt"
    accepted = None
    if os.path.exists(page):
        for l in open(page):
            if l.startswith("parley_messages_accepted_total"):
                accepted = float(l.split()[-1])
    if accepted is None or "rchar:" not in io:
        continue
    rows.append((t, ticks, accepted, {k.rstrip(":"): int(v) for k, v in io.items()}))

def line(a, b, label):
    n = b[2] - a[2]
    if n <= 0:
        return None
    d = {k: b[3][k] - a[3][k] for k in ("rchar", "wchar", "syscr", "syscw")}
    return (f"{label:>11} {n:9.0f} {d['rchar'] / n / 1024:8.1f} {d['wchar'] / n / 1024:8.1f} {d['syscr'] / n:7.1f} {d['syscw'] / n:7.1f}"
            f" {(b[1] - a[1]) * 10 / n:7.3f}")

print(f"{'s':>11} {'messages':>9} {'KB read':>8} {'KB writ':>8} {'reads':>7} {'writes':>7} {'cpu ms':>7}   (per message)")
picked = [rows[0]] if rows else []
for r in rows[1:]:
    if r[0] - picked[-1][0] >= every:
        picked.append(r)
if rows and picked[-1] is not rows[-1]:
    picked.append(rows[-1])
for a, b in zip(picked, picked[1:]):
    out = line(a, b, f"{a[0]}-{b[0]}")
    if out:
        print(out)
if len(picked) > 2:
    out = line(picked[1], picked[-1], f"{picked[1][0]}-{picked[-1][0]}")
    if out:
        print(out)
