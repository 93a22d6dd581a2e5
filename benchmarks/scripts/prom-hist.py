#!/usr/bin/env python3
"""prom-hist.py <before.m0> <after.m1> [histogram|counter...] : what happened between two /metrics scrapes
(step-metrics.sh): for each named Prometheus histogram (default: parley_store_commit_duration_seconds,
parley_store_batch_size) the count and the bucket bounds its p50/p90/p99/p99.9 fall in, the count above each bound, and
the GC collections and pause time. A histogram with labels (e.g. parley_send_hop_duration_seconds{hop}) gets one line per
label set; a counter (a name ending in _total) its growth per label set.

prom-hist.py --hops <before> <after> : where the server's sends spent their time (issue 17, docs/observability.md): per hop
of parley_send_hop_duration_seconds, in path order, the count, mean and p50/p90/p99 (linear within the bucket, as
Prometheus' histogram_quantile does; <=X is the bucket's bound), then the whole (parley_send_server_duration_seconds), and
for the sends over Parley:Gateway:SlowSendThreshold how many each hop was the slowest of and its share of their time."""
import re, sys

LINE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{([^}]*)\})?\s+(\S+)')
PATH_HOPS = ['receive', 'call', 'turn', 'batch', 'commit', 'dispatch', 'resume', 'return', 'ack']

def samples(path):
    """(name, labels without le, le or None) -> value"""
    out = {}
    for line in open(path):
        m = LINE.match(line)
        if not m or line.startswith('#'):
            continue
        name, labels, value = m.group(1), m.group(2) or '', float(m.group(3))
        pairs = [p for p in re.findall(r'(\w+)="([^"]*)"', labels)]
        le = next((v for k, v in pairs if k == 'le'), None)
        rest = ','.join(f'{k}="{v}"' for k, v in pairs if k != 'le' and k not in ('otel_scope_name', 'otel_scope_version'))
        key = (name, rest, le)
        out[key] = out.get(key, 0) + value
    return out

def delta(a, c, name):
    """label set -> {le: count} (histogram buckets) or {None: value}, after minus before"""
    d = {}
    for (n, labels, le), v in c.items():
        if n != name:
            continue
        bound = None if le is None else (float('inf') if le == '+Inf' else float(le))
        d.setdefault(labels, {})[bound] = d.get(labels, {}).get(bound, 0) + v - a.get((n, labels, le), 0)
    return d

def quantile(b, q):
    """(estimate, bucket bound) of quantile q from cumulative buckets {le: count}"""
    items = sorted(b.items())
    total = items[-1][1] if items else 0
    if total <= 0:
        return float('nan'), float('nan')
    rank, prev_le, prev_n = total * q, 0.0, 0.0
    for le, n in items:
        if n >= rank:
            if le == float('inf'):
                return prev_le, le
            return prev_le + (le - prev_le) * ((rank - prev_n) / (n - prev_n) if n > prev_n else 1), le
        prev_le, prev_n = le, n
    return float('nan'), float('nan')

def old_style(name, b):
    d = sorted(b.items())
    total = d[-1][1] if d else 0
    qs = []
    for p in (50, 90, 99, 99.9):
        le = next((le for le, n in d if n >= total * p / 100), float('nan'))
        qs.append(f'p{p}<={le:g}')
    above = ' '.join(f'>{le:g}:{int(total - n)}' for le, n in d if le != float('inf') and total - n > 0)
    return f'{name} n={int(total)} {" ".join(qs)} | above: {above}'

def ms(x):
    return f'{x * 1000:.2f}' if x == x and x != float('inf') else ('inf' if x == float('inf') else '-')

def hist_line(label, b, s):
    n = max(b.values()) if b else 0
    mean = s / n if n else float('nan')
    qs = ' '.join(f'p{int(q * 100) if q < 0.999 else 99.9}={ms(quantile(b, q)[0])}(<={ms(quantile(b, q)[1])})' for q in (0.5, 0.9, 0.99))
    return f'{label:<10} n={int(n):>7} mean={ms(mean):>7} ms  {qs}'

def gc_line(before, after):
    def scalar(path, prefix):
        return sum(float(l.split()[-1]) for l in open(path) if l.startswith(prefix))
    def gc(path, gen):
        return scalar(path, 'dotnet_gc_collections_total{gc_heap_generation="%s"}' % gen)
    gens = ' '.join(f'{g}={int(gc(after, g) - gc(before, g))}' for g in ('gen0', 'gen1', 'gen2'))
    pause = scalar(after, 'dotnet_gc_pause_time_seconds_total') - scalar(before, 'dotnet_gc_pause_time_seconds_total')
    return f'GC {gens} pause {pause:.3f} s'

def hops(before, after):
    a, c = samples(before), samples(after)
    buckets = delta(a, c, 'parley_send_hop_duration_seconds_bucket')
    sums = delta(a, c, 'parley_send_hop_duration_seconds_sum')
    slow = delta(a, c, 'parley_send_slow_total')
    slow_time = delta(a, c, 'parley_send_slow_time_seconds_total')
    total_slow_time = sum(v.get(None, 0) for v in slow_time.values())
    total_slow = sum(v.get(None, 0) for v in slow.values())
    print(f'{"hop":<10} {"count":>9} {"mean":>10}     quantiles in ms (bucket bound)        | slow sends: slowest here, share of their time')
    for hop in PATH_HOPS + ['deliver']:
        key = f'hop="{hop}"'
        b, s = buckets.get(key, {}), sums.get(key, {}).get(None, 0)
        tail = ''
        if hop != 'deliver' and total_slow:
            tail = f' | {int(slow.get(key, {}).get(None, 0)):>6} {100 * slow_time.get(key, {}).get(None, 0) / total_slow_time if total_slow_time else 0:5.1f} %'
        print(hist_line(hop, b, s) + tail)
    tb = delta(a, c, 'parley_send_server_duration_seconds_bucket').get('', {})
    ts = delta(a, c, 'parley_send_server_duration_seconds_sum').get('', {}).get(None, 0)
    print(hist_line('server', tb, ts) + f' | {int(total_slow)} slow sends')
    print(gc_line(before, after))

if sys.argv[1] == '--hops':
    hops(sys.argv[2], sys.argv[3])
    sys.exit(0)

before, after = sys.argv[1], sys.argv[2]
a, c = samples(before), samples(after)
for name in sys.argv[3:] or ['parley_store_commit_duration_seconds', 'parley_store_batch_size']:
    if name.endswith('_total'):
        for labels, v in sorted(delta(a, c, name).items()):
            print(f'{name}{{{labels}}} +{v.get(None, 0):g}')
        continue
    by_labels = delta(a, c, name + '_bucket')
    sums = delta(a, c, name + '_sum')
    if len(by_labels) <= 1:
        print(old_style(name, next(iter(by_labels.values()), {})))
        # stop 45: its mean and interpolated quantiles too (the sum's label set is the buckets' one)
        for labels, b in by_labels.items():
            n, total = (max(b.values()) if b else 0), sums.get(labels, {}).get(None, 0)
            print('  ' + (hist_line('', b, total).strip() if name.endswith('_seconds') else f'n={int(n)} mean={total / n if n else float("nan"):.2f}'))
        continue
    for labels, b in sorted(by_labels.items()):
        print(hist_line(f'{name}{{{labels}}}', b, sums.get(labels, {}).get(None, 0)))
print(gc_line(before, after))
