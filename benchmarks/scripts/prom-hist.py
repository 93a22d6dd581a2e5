#!/usr/bin/env python3
"""prom-hist.py <before.m0> <after.m1> [histogram...] : what happened between two /metrics scrapes (step-metrics.sh):
for each named Prometheus histogram (default: parley_store_commit_duration_seconds, parley_store_batch_size) the count
and the bucket bounds its p50/p90/p99/p99.9 fall in, the count above each bound, and the GC collections and pause time."""
import re, sys

def buckets(path, name):
    b = {}
    for line in open(path):
        if line.startswith(name + '_bucket'):
            m = re.search(r'le="([^"]+)"\}\s+(\S+)', line)
            le = float('inf') if m.group(1) == '+Inf' else float(m.group(1))
            b[le] = b.get(le, 0) + float(m.group(2))
    return b

def scalar(path, prefix):
    return sum(float(l.split()[-1]) for l in open(path) if l.startswith(prefix))

before, after = sys.argv[1], sys.argv[2]
for name in sys.argv[3:] or ['parley_store_commit_duration_seconds', 'parley_store_batch_size']:
    a, c = buckets(before, name), buckets(after, name)
    d = sorted((le, c[le] - a.get(le, 0)) for le in c)
    total = d[-1][1] if d else 0
    qs = []
    for p in (50, 90, 99, 99.9):
        le = next((le for le, n in d if n >= total * p / 100), float('nan'))
        qs.append(f'p{p}<={le:g}')
    above = ' '.join(f'>{le:g}:{int(total - n)}' for le, n in d if le != float('inf') and total - n > 0)
    print(f'{name} n={int(total)} {" ".join(qs)} | above: {above}')
def gc(path, gen):
    return scalar(path, 'dotnet_gc_collections_total{gc_heap_generation="%s"}' % gen)

gens = ' '.join(f'{g}={int(gc(after, g) - gc(before, g))}' for g in ('gen0', 'gen1', 'gen2'))
pause = scalar(after, 'dotnet_gc_pause_time_seconds_total') - scalar(before, 'dotnet_gc_pause_time_seconds_total')
print(f'GC {gens} pause {pause:.3f} s')
