import re, sys, collections
T0=42046.528841723
eps=[(0.152,77),(0.900,73),(1.993,70),(3.676,85),(5.288,142),(6.551,69),(7.624,89),(9.796,124),(10.044,82),(12.036,236),(13.279,62),(14.412,40)]
# windows: 100 ms before each episode's start to its end (the worst message's wait)
wins=[(T0+s-0.10, T0+s+l/1000) for s,l in eps]
rx=re.compile(r'\[000\] ([\d.]+): sched:sched_switch: prev_comm=(.*?) prev_pid=(\d+) .*?==> next_comm=(.*?) next_pid=(\d+)')
cur=None; since=None
runs=[]  # (start,end,comm,tid)
for l in open('f4500.schedall.txt'):
    if '[000]' not in l or 'sched_switch' not in l: continue
    m=rx.search(l)
    if not m: continue
    t=float(m.group(1))
    if cur is not None: runs.append((since,t,cur[0],cur[1]))
    cur=(m.group(4),m.group(5)); since=t
tot=collections.Counter(); inwin=collections.Counter(); wl=sum(b-a for a,b in wins)
lo=T0; hi=T0+15
for a,b,c,tid in runs:
    if b<lo or a>hi: continue
    key=c if c!='.NET TP Worker' else 'TP Worker'
    tot[key]+=min(b,hi)-max(a,lo)
    for wa,wb in wins:
        o=min(b,wb)-max(a,wa)
        if o>0: inwin[key]+=o
print(f"CPU 0 share by task: whole 15 s window vs the episodes' windows ({wl*1000:.0f} ms in all)")
for k,v in tot.most_common(25):
    print(f"  {k:28s} {100*v/15:6.1f} %   {100*inwin[k]/wl:6.1f} %")
