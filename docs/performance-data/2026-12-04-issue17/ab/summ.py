import json,glob,sys,os,statistics as st
d=sys.argv[1]
for t in ['base','after']:
    rows=[]
    for f in sorted(glob.glob(f'{d}/{t}-*.json')):
        j=json.load(open(f)); steps=j['steps']
        login=[s['Metrics'] for s in steps if s['Scenario']=='login'][0]
        chat=[s for s in steps if s['Scenario']=='chat']
        sat=max(s['Metrics']['delivered_msgs_per_s'] for s in chat if s['Step'].startswith('ramp'))
        eq={s['Step']:round(s['Metrics']['server_cpu_ms_per_msg'],3) for s in chat if s['Step'] in('ramp 1000/s','ramp 2000/s')}
        half=[s['Metrics'] for s in chat if s['Step'].startswith('half')][0]
        rows.append((os.path.basename(f),round(login['logins_per_s']),round(login['login_p99_ms']),round(sat),eq,round(half['server_cpu_ms_per_msg'],3),half['p99_ms'],j['totalLost']))
    for r in rows: print(t,*r)
    print(t,'median logins/s',st.median(r[1] for r in rows),'sat',st.median(r[3] for r in rows),'cpu/msg@2000',st.median(r[4].get('ramp 2000/s',0) for r in rows))
