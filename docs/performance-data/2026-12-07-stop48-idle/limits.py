#!/usr/bin/env python3
"""limits.py <overload dir> <label>...: per build, the bound of outstanding send work in effect during stop 47 bound's
overload run (parley_send_outstanding_limit from soak-short.sh's /metrics pages: min, median, max; absent on a build without
it) against the outstanding work (parley_send_outstanding max)."""
import os, statistics, sys

def val(page, name):
    for l in open(page, errors='replace'):
        if l.startswith(name) and (len(l) == len(name) or l[len(name)] in ' {'):
            return float(l.split()[-1])
    return None

out = sys.argv[1]
for label in sys.argv[2:]:
    d = f'{out}/{label}.m'
    if not os.path.isdir(d):
        continue
    pages = [f'{d}/{p}' for p in sorted(os.listdir(d))]
    lim = [v for v in (val(p, 'parley_send_outstanding_limit') for p in pages) if v is not None and v > 0]
    outs = [v for v in (val(p, 'parley_send_outstanding') for p in pages) if v is not None]
    if lim:
        print(f'{label}: bound in effect min {min(lim):.0f} median {statistics.median(lim):.0f} max {max(lim):.0f}; outstanding max {max(outs) if outs else 0:.0f} ({len(lim)} pages)')
    else:
        print(f'{label}: fixed bound (no parley_send_outstanding_limit); outstanding max {max(outs) if outs else 0:.0f}')
