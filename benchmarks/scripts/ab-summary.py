#!/usr/bin/env python3
"""ab-summary.py [--runs PATTERNS] [--at RATES] [--digits N] build... : one markdown table row per figure, each cell the
median over a build's runs with every run in brackets, from the generator's JSON files that ab.sh writes.
PATTERNS: comma-separated globs with {build} (default out*/{build}-r?.json). Rows: login (when the runs have it), warm 1:1
chat (saturation, the half-saturation step; or, for runs of one fixed rate (RATES=2100), that step's latency percentiles),
with --at 2000,3000 also the CPU and allocation per message at those ramp steps, the group
scenario's figures (when the runs have it), and messages lost. Figures of 100 or more print as integers, the others with
N decimals (default 2)."""
import argparse, glob, json, statistics as st
p = argparse.ArgumentParser()
p.add_argument('--runs', default='out*/{build}-r?.json')
p.add_argument('--at', default='')
p.add_argument('--digits', type=int, default=2)
p.add_argument('builds', nargs='+')
a = p.parse_args()
rates = [r for r in a.at.split(',') if r]
rows = {}
for b in a.builds:
    for pattern in a.runs.split(','):
        for f in sorted(glob.glob(pattern.format(build=b))):
            d = json.load(open(f))
            S = lambda sc: [s for s in d['steps'] if s['Scenario'] == sc]
            login, chat, group = S('login'), S('chat'), S('group')
            halves = [s['Metrics'] for s in chat if s['Step'].startswith('half')]
            ramp = {s['Step']: s['Metrics'] for s in chat if s['Step'].startswith('ramp')}
            g100 = ([s['Metrics'] for s in group if s['Step'] == 'ramp 100/s'] or [None])[0]
            row = {}
            if login:
                m = login[0]['Metrics']
                row.update({'logins/s': m['logins_per_s'], 'CPU ms/login': m['server_cpu_ms_per_login'],
                            'alloc KB/login': m['server_alloc_kb_per_login'], 'idle KB/conn': m['idle_kb_per_conn']})
            if halves:
                half = halves[0]
                row.update({'saturation msg/s': max(m['delivered_msgs_per_s'] for m in ramp.values()),
                            'half rate msg/s': half['offered_per_s'], 'CPU ms/msg at half': half['server_cpu_ms_per_msg'],
                            'alloc KB/msg at half': float(half['server_alloc_bytes_per_msg']) / 1024, 'p99 ms at half': half['p99_ms']})
            elif len(ramp) == 1:  # one fixed rate: no saturation search
                m = next(iter(ramp.values()))
                row.update({'fixed rate msg/s': m['offered_per_s'], 'CPU ms/msg': m['server_cpu_ms_per_msg'],
                            'alloc KB/msg': float(m['server_alloc_bytes_per_msg']) / 1024, 'ack p50 ms': m['ack_p50_ms'],
                            'ack p99 ms': m['ack_p99_ms'], 'send→receive p99 ms': m['p99_ms'], 'send→receive p99.9 ms': m['p999_ms']})
            for r in rates:
                row[f'CPU ms/msg at {r} msg/s'] = ramp.get(f'ramp {r}/s', {}).get('server_cpu_ms_per_msg', float('nan'))
                row[f'alloc KB/msg at {r} msg/s'] = float(ramp.get(f'ramp {r}/s', {}).get('server_alloc_bytes_per_msg', float('nan'))) / 1024
            if g100 is not None:
                row.update({'group deliveries/s, highest step (generator-bound)': max(s['Metrics']['delivered_per_s'] for s in group),
                            'group CPU ms/msg at 100 msg/s': g100['server_cpu_ms_per_msg'],
                            'group alloc KB/msg at 100 msg/s': g100['server_alloc_bytes_per_msg'] / 1024,
                            'group p99 ms at 100 msg/s': g100['p99_ms']})
            row['lost'] = sum(s['Metrics']['lost'] for s in chat + group)
            rows.setdefault(b, []).append(row)
keys = list(dict.fromkeys(k for b in a.builds for r in rows[b] for k in r))
keys.append(keys.pop(keys.index('lost')))
for k in keys:
    cells = []
    for b in a.builds:
        v = [r[k] for r in rows[b] if k in r]; vv = [x for x in v if x == x]  # NaN: a step that run did not reach
        fmt = (lambda x: f'{x:,.0f}') if vv and max(vv) >= 100 else (lambda x: f'{x:.{a.digits}f}')
        cells.append(f"{fmt(st.median(vv)) if vv else '-'} ({' · '.join(fmt(x) for x in v)})")
    print(f'| {k} | ' + ' | '.join(cells) + ' |')
