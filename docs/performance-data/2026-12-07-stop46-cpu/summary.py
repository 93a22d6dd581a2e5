#!/usr/bin/env python3
"""summary.py <out>: quiet.sh's table. Per run: the warm step's server CPU per message (the generator's 4,000 msg/s line),
and over the saturated step's seconds (the polled seconds whose committed rate is at least 70 % of the run's best second
and above 6,000/s) the committed rate (the commit pipeline's items) and the accepted rate, the server's CPU share, the writer's time inside transactions and COMMIT as shares
of the wall time, the batch size, the transaction's µs per message, and the server's KB written to storage per committed message."""
import collections, glob, os, re, sys

out = sys.argv[1]
print("| run | warm 4,000/s: server CPU ms/msg | saturated: committed msg/s | accepted msg/s | server CPU % | writer in transactions % | in COMMIT % | msgs/batch | transaction µs/msg | KB to storage per msg | generator's saturated step (delivered/s, cpu) |")
print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|")
order = ['base1', 'new1', 'new2', 'base2', 'new-normal', 'new-nofts', 'new-1k']
for label in order:
    path = f"{out}/{label}.metrics.tsv"
    if not os.path.exists(path):
        continue
    snaps = collections.OrderedDict()
    for line in open(path):
        f = line.split()
        if len(f) < 4:
            continue
        t, ticks, name, value = float(f[0]), f[1], f[2], float(f[3])
        name = re.sub(r'\{.*\}', '', name)
        s = snaps.setdefault(t, {'ticks': float(ticks or 0)})
        s[name] = s.get(name, 0) + value
    ts = list(snaps)
    rows = []
    for a, b in zip(ts, ts[1:]):
        A, B = snaps[a], snaps[b]; dt = b - a
        d = lambda n: B.get(n, 0) - A.get(n, 0)
        rows.append(dict(dt=dt, acc=d('parley_messages_accepted_total'), cpu=(B['ticks'] - A['ticks']) / 100,
                         tx=d('parley_storage_sqlite_transaction_duration_seconds_sum'), commit=d('parley_storage_sqlite_commit_duration_seconds_sum'),
                         items=d('parley_store_batch_size_sum'), batches=d('parley_store_batch_size_count'), io=d('io_write_bytes')))
    if not rows:
        continue
    # The saturated step's seconds: those whose committed rate (the pipeline's batches' items, durable) is at least 70 % of
    # the run's best second and above 6,000/s (the 4,000 step is below both on a quiet machine).
    best = max(r['items'] / r['dt'] for r in rows)
    sat = [r for r in rows if r['items'] / r['dt'] >= 0.7 * best and r['items'] / r['dt'] > 6000]
    tot = {k: sum(r[k] for r in sat) for k in ('dt', 'acc', 'cpu', 'tx', 'commit', 'items', 'batches', 'io')}
    warm = cpu_ms = '-'; gen = ''
    log = f"{out}/{label}.log"
    if os.path.exists(log):
        lines = [l for l in open(log) if l.startswith('[')]
        for l in lines:
            m = re.search(r'ramp (\d+)/s\] sent \S+ deliv (\d+)/s.*srv cpu (\d+)%', l)
            if m and m.group(1) == '4000':
                cpu_ms = f"{int(m.group(3)) * 10 / max(int(m.group(2)), 1):.3f}"
            elif m:
                gen = f"{m.group(2)}/s at {m.group(3)} %"
    w = tot['dt'] or 1
    print(f"| {label} | {cpu_ms} | {tot['items'] / w:,.0f} | {tot['acc'] / w:,.0f} | {100 * tot['cpu'] / w:.0f} | {100 * tot['tx'] / w:.0f} | {100 * tot['commit'] / w:.0f} | "
          f"{tot['items'] / max(tot['batches'], 1):.0f} | {1e6 * tot['tx'] / max(tot['items'], 1):.1f} | {tot['io'] / 1024 / max(tot['items'], 1):.1f} | {gen} ({len(sat)} s) |")
