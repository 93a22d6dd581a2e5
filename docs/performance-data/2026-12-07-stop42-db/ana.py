import sys, re, os, collections, glob
# ana.py <out> <label> [every N probes]: per interval, KB read/written and calls per message, by thread group
out, label = sys.argv[1], sys.argv[2]; every = int(sys.argv[3]) if len(sys.argv) > 3 else 3
# messages accepted by time (HH:MM:SS) from metrics pages + rss file
rss = [l.split() for l in open(f"{out}/{label}.rss")]
acc = {}
for t, hms, *_ in rss:
    p = f"{out}/{label}.m/{int(t):05d}.txt"
    if os.path.exists(p):
        for l in open(p):
            if l.startswith('parley_messages_accepted_total'): acc[hms] = float(l.split()[-1])
def secs(h): a, b, c = map(int, h.split(':')); return a*3600+b*60+c
acct = sorted((secs(h), v) for h, v in acc.items())
def accepted_at(s):
    best = min(acct, key=lambda x: abs(x[0]-s)); return best[1]
snaps = []; cur = None
for l in open(f"{out}/{label}.probe"):
    p = l.split()
    if p[0] == 'T':
        cur = {'t': int(p[1]), 's': secs(p[2]), 'cpu': int(p[3]), 'files': ' '.join(p[4:]), 'th': {}}; snaps.append(cur)
    elif p[0] == 't':
        m = re.match(r't (\d+) \[(.*)\] (.*)', l.strip())
        if not m: continue
        tid = m.group(1); name = re.sub(r'[0-9]+', '#', m.group(2)); rest = m.group(3).split()
        if len(rest) < 7: continue
        vals = list(map(int, rest[:7]))
        cur['th'][tid] = (name, vals, int(rest[7]) if len(rest) > 7 else 0)
def group(name):
    if 'checkpoint' in name: return 'checkpointer'
    return name
print(f"{'t':>5} {'msgs':>7} {'cpu ms/msg':>10} " + "group: rKB/msg wKB/msg rcalls wcalls")
for a, b in zip(snaps[::every], snaps[every::every]):
    n = accepted_at(b['s']) - accepted_at(a['s'])
    if n <= 0: continue
    g = collections.defaultdict(lambda: [0]*5)
    for tid, (name, v, st) in b['th'].items():
        va = a['th'].get(tid, (name, [0]*7, 0))[1]
        d = [v[i]-va[i] for i in range(4)]
        k = group(name); 
        for i in range(4): g[k][i] += d[i]
        g['ALL'][i] += 0
    tot = [sum(g[k][i] for k in g if k!='ALL') for i in range(4)]
    top = sorted(((k, v) for k, v in g.items() if k!='ALL' and (v[0]+v[1])>0), key=lambda kv: -(kv[1][0]+kv[1][1]))[:5]
    print(f"{b['t']:5d} {n:7.0f} {(b['cpu']-a['cpu'])*10/n:10.3f} TOTAL r {tot[0]/n/1024:6.1f} w {tot[1]/n/1024:6.1f} rc {tot[2]/n:5.1f} wc {tot[3]/n:5.1f} | " +
          " ; ".join(f"{k}: {v[0]/n/1024:.1f}/{v[1]/n/1024:.1f}KB {v[2]/n:.1f}/{v[3]/n:.1f}" for k, v in top) + f" | {b['files']}")
