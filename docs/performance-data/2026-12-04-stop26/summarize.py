#!/usr/bin/env python3
"""Medians (and every run) per build over out*/<build>-r<N>.json written by ab2.sh: login and warm 1:1 chat."""
import glob, json, statistics as st, sys
builds = sys.argv[1:] or ['base', 's24', 'main']
rows = {}
for b in builds:
    for f in sorted(glob.glob(f'out*/{b}-r?.json')):
        d = json.load(open(f))
        login = [s for s in d['steps'] if s['Scenario'] == 'login'][0]['Metrics']
        chat = [s for s in d['steps'] if s['Scenario'] == 'chat']
        half = [s for s in chat if s['Step'].startswith('half')][0]['Metrics']
        rows.setdefault(b, []).append({
            'logins/s': login['logins_per_s'], 'CPU ms/login': login['server_cpu_ms_per_login'],
            'alloc KB/login': login['server_alloc_kb_per_login'], 'idle KB/conn': login['idle_kb_per_conn'],
            'saturation msg/s': max(s['Metrics']['delivered_msgs_per_s'] for s in chat if s['Step'].startswith('ramp')),
            'half rate msg/s': half['offered_per_s'], 'CPU ms/msg at half': half['server_cpu_ms_per_msg'],
            'alloc KB/msg at half': half['server_alloc_bytes_per_msg'] / 1024, 'p99 ms at half': half['p99_ms'],
            'lost': sum(s['Metrics']['lost'] for s in chat)})
for k in rows[builds[0]][0]:
    cells = []
    for b in builds:
        v = [r[k] for r in rows[b]]
        fmt = (lambda x: f'{x:,.0f}') if max(v) >= 100 else (lambda x: f'{x:.2f}')
        cells.append(f"{fmt(st.median(v))} ({' · '.join(fmt(x) for x in v)})")
    print(f'| {k} | ' + ' | '.join(cells) + ' |')
