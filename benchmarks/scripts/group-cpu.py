#!/usr/bin/env python3
"""group-cpu.py <ab.sh outdir> [members]: per build and group step (ramp rate, half) of ab.sh's group runs, every round's
server CPU µs per delivery (the server's CPU per issued message / (members - 1); valid where the delivery ratio is ~1),
deliveries/s, server CPU %, delivery ratio and p99 ms."""
import json,glob,sys
d=sys.argv[1]; members=int(sys.argv[2]) if len(sys.argv)>2 else 500
rows={}
for f in sorted(glob.glob(d+'/*-r?.json')):
    b=f.split('/')[-1].rsplit('-r',1)[0]
    for s in json.load(open(f))['steps']:
        if s['Scenario']!='group': continue
        m=s['Metrics']; step=s['Step'].split()[0]+' '+('%d'%m['offered_per_s'] if s['Step'].startswith('ramp') else 'half')
        us=m['server_cpu_ms_per_msg']*1000/(members-1)
        rows.setdefault((b,step),[]).append((us,m['delivered_per_s'],m['server_cpu_pct'],m['delivery_ratio'],m['p99_ms']))
for (b,step),v in sorted(rows.items()):
    print(f"{b:5} {step:10} µs/delivery " + ' '.join(f"{x[0]:.2f}" for x in v) + " | deliv/s " + ' '.join(f"{x[1]/1e3:.0f}k" for x in v)+ " | cpu% " + ' '.join(f"{x[2]:.0f}" for x in v)+" | ratio "+' '.join(f"{x[3]:.2f}" for x in v)+" | p99 "+' '.join(f"{x[4]:.0f}" for x in v))
