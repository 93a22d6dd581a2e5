#!/usr/bin/env python3
"""Medians (and every run) per build over final/<build>-r<N>.json: login, warm 1:1 chat, group (500 members)."""
import glob, json, statistics as st, sys
builds = sys.argv[1:] or ['base', 'main']
rows = {}
for b in builds:
    for f in sorted(glob.glob(f'final/{b}-r?.json')):
        d = json.load(open(f))
        S = lambda sc: [s for s in d['steps'] if s['Scenario'] == sc]
        login = S('login')[0]['Metrics']
        chat = S('chat'); group = S('group')
        half = [s for s in chat if s['Step'].startswith('half')][0]['Metrics']
        g100 = ([s for s in group if s['Step'] == 'ramp 100/s'] or [None])[0]
        g100 = g100['Metrics'] if g100 else None  # rounds 4-5 ran login,chat only
        rows.setdefault(b, []).append({
            'logins/s': login['logins_per_s'], 'CPU ms/login': login['server_cpu_ms_per_login'],
            'alloc KB/login': login['server_alloc_kb_per_login'], 'idle KB/conn': login['idle_kb_per_conn'],
            '1:1 saturation msg/s': max(s['Metrics']['delivered_msgs_per_s'] for s in chat if s['Step'].startswith('ramp')),
            '1:1 CPU ms/msg at half': half['server_cpu_ms_per_msg'],
            '1:1 alloc KB/msg at half': half['server_alloc_bytes_per_msg'] / 1024, '1:1 p99 ms at half': half['p99_ms'],
            **({} if g100 is None else {
                'group deliveries/s, highest step (generator-bound)': max(s['Metrics']['delivered_per_s'] for s in group),
                'group CPU ms/msg at 100 msg/s': g100['server_cpu_ms_per_msg'],
                'group alloc KB/msg at 100 msg/s': g100['server_alloc_bytes_per_msg'] / 1024,
                'group p99 ms at 100 msg/s': g100['p99_ms']}),
            'lost': sum(s['Metrics']['lost'] for s in chat + group)})
for k in rows[builds[0]][0]:
    cells = []
    for b in builds:
        v = [r[k] for r in rows[b] if k in r]
        fmt = (lambda x: f'{x:,.0f}') if max(v) >= 100 else (lambda x: f'{x:.2f}')
        cells.append(f"{fmt(st.median(v))} ({' · '.join(fmt(x) for x in v)})")
    print(f'| {k} | ' + ' | '.join(cells) + ' |')
