import json, glob, statistics, sys
d = sys.argv[1]
for t in ('base', 'main'):
    rows = []
    for f in sorted(glob.glob(f'{d}/{t}-*.json')):
        j = json.load(open(f)); r = {'file': f.split('/')[-1]}
        ramps = [s['Metrics'] for s in j['steps'] if s['Scenario'] == 'chat' and s['Step'].startswith('ramp')]
        half = [s['Metrics'] for s in j['steps'] if s['Scenario'] == 'chat' and s['Step'].startswith('half')]
        login = [s['Metrics'] for s in j['steps'] if s['Scenario'] == 'login']
        if login: r['login/s'] = login[0]['logins_per_s']; r['login p99'] = login[0]['login_p99_ms']
        if ramps:
            r['sat msg/s'] = max(m['delivered_msgs_per_s'] for m in ramps)
            r['ramp cpu ms/msg'] = statistics.median(m['server_cpu_ms_per_msg'] for m in ramps)
        if half: r['half rate'] = half[0]['offered_per_s']; r['half cpu ms/msg'] = half[0]['server_cpu_ms_per_msg']; r['half p99'] = half[0]['p99_ms']
        r['lost'] = sum(s['Metrics'].get('lost', 0) for s in j['steps'])
        rows.append(r)
    print(t)
    for k in ('login/s', 'login p99', 'sat msg/s', 'ramp cpu ms/msg', 'half rate', 'half cpu ms/msg', 'half p99', 'lost'):
        v = [r[k] for r in rows if k in r]
        if v: print(f"  {k}: median {statistics.median(v):.2f} ({' · '.join(f'{x:.2f}' for x in v)})")
print("server CPU ms per message at equal offered rates (steps that kept up), median (runs):")
for t in ('base', 'main'):
    per = {}
    for f in sorted(glob.glob(f'{d}/{t}-*.json')):
        for s in json.load(open(f))['steps']:
            m = s['Metrics']
            if s['Scenario'] == 'chat' and s['Step'].startswith('ramp') and m['delivery_ratio'] >= 0.95:
                per.setdefault(int(m['offered_per_s']), []).append(m['server_cpu_ms_per_msg'])
    print(' ', t, ' '.join(f"{k}/s: {statistics.median(v):.3f} (n={len(v)})" for k, v in sorted(per.items())))
