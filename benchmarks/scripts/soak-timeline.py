#!/usr/bin/env python3
"""soak-timeline.py <dir of /metrics pages named by second> [every N pages]: per interval the GC pauses and collections by
generation, gen2/LOH and heap after the last GC, conversation grains active, created and destroyed in the interval,
and the server-side send p50/p99 (parley_send_server_duration_seconds) in the interval; KB allocated and CPU ms (user +
system) per accepted message in the interval; and, after the table, both per message from the first page at or after
--from S (default 150 s: past the first idle age of a conversation grain, so deactivations run too) to the last."""
import os, re, sys
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
LINE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{([^}]*)\})?\s+(\S+)')
def page(p):
    d = {}
    for line in open(p, errors='replace'):
        if line.startswith('#'): continue
        m = LINE.match(line)
        if not m: continue
        n, l, v = m.group(1), m.group(2) or '', m.group(3)
        try: v = float(v)
        except ValueError: continue
        l = ','.join(x for x in re.findall(r'\w+="[^"]*"', l) if not x.startswith('otel_scope'))
        d[(n, l)] = d.get((n, l), 0) + v
    return d
def g(d, n, lab=''):
    return sum(v for (k, l), v in d.items() if k == n and lab in l)
def hist(d, n):
    b = {}
    for (k, l), v in d.items():
        if k == n:
            le = re.search(r'le="([^"]*)"', l).group(1)
            b[float('inf') if le == '+Inf' else float(le)] = v
    return b
def q(b0, b1, qq):
    items = sorted((le, b1.get(le, 0) - b0.get(le, 0)) for le in b1)
    tot = items[-1][1] if items else 0
    if tot <= 0: return float('nan')
    r, pl, pn = tot * qq, 0.0, 0.0
    for le, n in items:
        if n >= r:
            return pl if le == float('inf') else pl + (le - pl) * ((r - pn) / (n - pn) if n > pn else 1)
        pl, pn = le, n
args = sys.argv[1:]
start = 150
if '--from' in args:
    i = args.index('--from'); start = int(args[i + 1]); del args[i:i + 2]
dirp = args[0]; every = int(args[1]) if len(args) > 1 else 1
files = sorted(f for f in os.listdir(dirp) if f.endswith('.txt') and os.path.getsize(os.path.join(dirp, f)) > 1000)
files = files[::every]
print(f'{"t s":>5} {"sends":>6} {"srv p50":>8} {"srv p99":>8} {"max<=":>7} | {"pause ms":>8} {"g0":>4} {"g1":>3} {"g2":>3} | {"heap":>5} {"gen2":>5} {"loh":>4} {"commit":>6} | {"grains":>7} {"+act":>6} {"-deact":>6} | {"KB/msg":>6} {"cpu ms":>6}')
acc = lambda d: g(d, 'parley_messages_accepted_total')
alloc = lambda d: g(d, 'dotnet_gc_heap_total_allocated_bytes_total')
cpu = lambda d: g(d, 'dotnet_process_cpu_time_seconds_total')
per = lambda p, d, f, k: (f(d) - f(p)) * k / (acc(d) - acc(p)) if acc(d) > acc(p) else float('nan')
first = None
prev = None
for f in files:
    d = page(os.path.join(dirp, f)); t = int(f[:-4])
    if prev is not None:
        p, pt = prev
        b0, b1 = hist(p, 'parley_send_server_duration_seconds_bucket'), hist(d, 'parley_send_server_duration_seconds_bucket')
        cnt = g(d, 'parley_send_server_duration_seconds_count') - g(p, 'parley_send_server_duration_seconds_count')
        # the bound of the lowest bucket holding every send of the interval (cumulative buckets): the slowest send was below it
        mx = min([le for le in b1 if b1[le] - b0.get(le, 0) >= cnt > 0] + [float('nan')])
        hb = lambda gen: g(d, 'dotnet_gc_last_collection_heap_size_bytes', gen) / 1048576
        print(f'{t:>5} {cnt:>6.0f} {1000*q(b0,b1,.5):>8.1f} {1000*q(b0,b1,.99):>8.1f} {1000*mx:>7.0f} | '
              f'{1000*(g(d,"dotnet_gc_pause_time_seconds_total")-g(p,"dotnet_gc_pause_time_seconds_total")):>8.0f} '
              + ' '.join(f'{g(d,"dotnet_gc_collections_total",x)-g(p,"dotnet_gc_collections_total",x):>{w}.0f}' for x, w in (('gen0',4),('gen1',3),('gen2',3)))
              + f' | {hb(""):>5.0f} {hb("gen2"):>5.0f} {hb("loh"):>4.0f} {g(d,"dotnet_gc_last_collection_memory_committed_size_bytes")/1048576:>6.0f} | '
              f'{g(d,"orleans_catalog_activations","conversation"):>7.0f} '
              f'{g(d,"orleans_catalog_activation_created_total","conversation")-g(p,"orleans_catalog_activation_created_total","conversation"):>6.0f} '
              f'{g(d,"orleans_catalog_activation_destroyed_total","conversation")-g(p,"orleans_catalog_activation_destroyed_total","conversation"):>6.0f} | '
              f'{per(p, d, alloc, 1 / 1024):>6.2f} {per(p, d, cpu, 1000):>6.3f}')
    if first is None and t >= start:
        first = (d, t)
    prev = (d, t)
if first is not None and prev is not None and prev[1] > first[1]:
    (a, ta), (b, tb) = first, prev
    print(f'{ta}-{tb} s: {acc(b) - acc(a):.0f} messages accepted, {per(a, b, alloc, 1 / 1024):.2f} KB allocated and '
          f'{per(a, b, cpu, 1000):.3f} ms CPU per message')
