import glob, json, statistics as st, sys
dirs=sys.argv[1].split(','); builds=sys.argv[2:]
res={}
for b in builds:
    for d in dirs:
        for f in sorted(glob.glob(f'{d}/{b}-r?.json')):
            j=json.load(open(f)); chat=[s for s in j['steps'] if s['Scenario']=='chat']
            half=[s for s in chat if s['Step'].startswith('half')][0]['Metrics']
            ramp={s['Step']:s['Metrics'] for s in chat if s['Step'].startswith('ramp')}
            r={'sat':max(m['delivered_msgs_per_s'] for m in ramp.values()),'half cpu':half['server_cpu_ms_per_msg'],'half p99':half['p99_ms'],'alloc KB':half['server_alloc_bytes_per_msg']/1024,
               'cpu@2000':ramp.get('ramp 2000/s',{}).get('server_cpu_ms_per_msg',float('nan')),'cpu@3000':ramp.get('ramp 3000/s',{}).get('server_cpu_ms_per_msg',float('nan')),'lost':sum(m['lost'] for m in ramp.values())}
            res.setdefault(b,[]).append(r)
for k in res[builds[0]][0]:
    cells=[]
    for b in builds:
        v=[r[k] for r in res[b]]; vv=[x for x in v if x==x]
        fmt=(lambda x:f'{x:,.0f}') if max(vv)>=100 else (lambda x:f'{x:.3f}')
        cells.append(f"{fmt(st.median(vv))} ({' · '.join(fmt(x) for x in v)})")
    print(f'| {k} | '+' | '.join(cells)+' |')
