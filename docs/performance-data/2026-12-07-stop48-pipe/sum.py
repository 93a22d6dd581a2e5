#!/usr/bin/env python3
"""sum.py <dir> : per step-metrics.sh run in <dir> (issue 17, stop 48, pipe): the generator's latency line, the server's
CPU ms per accepted message (ticks.txt), and from the /metrics pages around the step: the SQLite writer's queue wait (the
commit pipeline's hand-off to the writer) mean/p99, the send hops 'batch' (queued -> taken by the pipeline) and 'commit'
(taken -> durable) p99, the transaction's mean, the batch size's mean, and the writer's catch-up checkpoints (count, mean,
the bucket their longest fell in); then the medians per label and rate."""
import glob, os, re, statistics, sys

def scrape(p):
    v = {}
    for line in open(p):
        if line.startswith('#'):
            continue
        m = re.match(r'^(\S+?)(?:\{([^}]*)\})?\s+(\S+)$', line.strip())
        if not m:
            continue
        labels = ','.join(f'{k}="{x}"' for k, x in re.findall(r'(\w+)="([^"]*)"', m.group(2) or '') if k not in ('otel_scope_name', 'otel_scope_version'))
        key = m.group(1) + '{' + labels + '}'
        v[key] = v.get(key, 0) + float(m.group(3))
    return v

def hist(a, b, name, match=''):
    """(count, sum, [(le, cumulative count)]) of the step for the histogram's series whose labels contain match"""
    buckets = {}
    count = total = 0.0
    for k, x in b.items():
        if not k.startswith(name + '_') or match not in k:
            continue
        d = x - a.get(k, 0)
        if k.startswith(name + '_bucket'):
            le = re.search(r'le="([^"]*)"', k).group(1)
            le = float('inf') if le == '+Inf' else float(le)
            buckets[le] = buckets.get(le, 0) + d
        elif k.startswith(name + '_count'):
            count += d
        elif k.startswith(name + '_sum'):
            total += d
    return count, total, sorted(buckets.items())

def quantile(buckets, count, q):
    if count <= 0:
        return float('nan')
    rank, lo, prev = q * count, 0.0, 0.0
    for le, c in buckets:
        if c >= rank:
            if le == float('inf'):
                return lo
            return lo + (le - lo) * ((rank - prev) / (c - prev) if c > prev else 1)
        lo, prev = le, c
    return lo

def top(buckets):
    prev, lo = 0.0, 0.0
    last = None
    for le, c in buckets:
        if c > prev:
            last = (lo, le)
        prev, lo = c, le
    return last

d = sys.argv[1]
ticks = {}
if os.path.exists(os.path.join(d, 'ticks.txt')):
    for line in open(os.path.join(d, 'ticks.txt')):
        p = line.split()
        ticks[p[0]] = int(p[2])
rows = []
for m1 in sorted(glob.glob(os.path.join(d, '*.m1')), key=os.path.getmtime):
    run = os.path.basename(m1)[:-3]
    log = os.path.join(d, run + '.log')
    text = open(log).read() if os.path.exists(log) else ''
    lat = re.search(r'p50 ([\d.]+) p90 [\d.]+ p99 ([\d.]+) p99.9 ([\d.]+) max ([\d.]+)', text)
    a, b = scrape(os.path.join(d, run + '.m0')), scrape(m1)
    msgs = b.get('parley_messages_accepted_total{}', 0) - a.get('parley_messages_accepted_total{}', 0)
    r = {'run': run, 'label': run.rsplit('-', 1)[0]}
    r['p50'], r['p99'], r['p999'], r['max'] = (float(x) for x in lat.groups()) if lat else (float('nan'),) * 4
    r['cpu'] = ticks.get(run, 0) * 10.0 / msgs if msgs else float('nan')
    r['msgs'] = msgs
    c, s, bk = hist(a, b, 'parley_storage_sqlite_queue_wait_seconds')
    r['qw_mean'], r['qw_p99'] = (s / c * 1000 if c else float('nan')), quantile(bk, c, .99) * 1000
    for hop in ('batch', 'commit'):
        c2, s2, bk2 = hist(a, b, 'parley_send_hop_duration_seconds', f'hop="{hop}"')
        r[hop + '_p99'] = quantile(bk2, c2, .99) * 1000
    c, s, bk = hist(a, b, 'parley_storage_sqlite_transaction_duration_seconds')
    r['tx_mean'] = s / c * 1000 if c else float('nan')
    c, s, bk = hist(a, b, 'parley_store_batch_size')
    r['batch'] = s / c if c else float('nan')
    c, s, bk = hist(a, b, 'parley_storage_sqlite_checkpoint_duration_seconds', 'by="writer"')
    t = top(bk)
    r['ck'] = f"{c:.0f}, {s / c * 1000:.0f}, {t[0] * 1000:.0f}-{t[1] * 1000:.0f}" if c and t else '0'
    rows.append(r)

print('| run | msgs | p50 | p99 | p99.9 | max ms | CPU ms/msg | writer queue wait mean / p99 ms | hop batch p99 | hop commit p99 | transaction mean ms | batch mean | writer catch-ups: n, mean ms, longest in |')
print('|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|')
for r in rows:
    print(f"| {r['run']} | {r['msgs']:.0f} | {r['p50']:.1f} | {r['p99']:.1f} | {r['p999']:.1f} | {r['max']:.1f} | {r['cpu']:.3f} | {r['qw_mean']:.2f} / {r['qw_p99']:.1f} | {r['batch_p99']:.1f} | {r['commit_p99']:.1f} | {r['tx_mean']:.2f} | {r['batch']:.1f} | {r['ck']} |")
print()
print('medians per label: | label | runs | p99 | p99.9 | CPU ms/msg | writer queue wait p99 | hop batch p99 | hop commit p99 |')
for label in dict.fromkeys(r['label'] for r in rows):
    rs = [r for r in rows if r['label'] == label]
    med = lambda k: statistics.median(r[k] for r in rs)
    print(f"| {label} | {len(rs)} | {med('p99'):.1f} | {med('p999'):.1f} | {med('cpu'):.3f} | {med('qw_p99'):.1f} | {med('batch_p99'):.1f} | {med('commit_p99'):.1f} |")
