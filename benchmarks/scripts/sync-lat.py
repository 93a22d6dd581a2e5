#!/usr/bin/env python3
"""sync-lat.py <trace.sync>... : the durations of the fsync/fdatasync calls a `perf trace -e fsync,fdatasync` output holds
(step-metrics.sh PERF_TRACE=1), per call and thread: count, mean, p50/p90/p99/p99.9, max, in ms (issue 17: the commit's
own sync, against the hops' commit time)."""
import re, sys
LINE = re.compile(r"\(\s*([0-9.]+) ms\):\s*(.+?)/(\d+)\s+(fsync|fdatasync)\(fd: (\d+)")
for path in sys.argv[1:]:
    by = {}
    for line in open(path, errors='replace'):
        m = LINE.search(line)
        if m:
            by.setdefault((m.group(4), m.group(2).strip() + " fd " + m.group(5)), []).append(float(m.group(1)))
    for (call, thread), lat in sorted(by.items()):
        lat.sort()
        q = lambda p: lat[min(len(lat) - 1, int(p * len(lat)))]
        print(f"{path}: {call} by {thread}: n {len(lat)} mean {sum(lat)/len(lat):.2f} p50 {q(.5):.2f} p90 {q(.9):.2f} "
              f"p99 {q(.99):.2f} p99.9 {q(.999):.2f} max {lat[-1]:.2f} ms")
