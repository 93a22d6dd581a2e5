import sys,re
def load(p,kb,sec):
    d={};cur=None
    for line in open(p):
        if line.startswith('== '): cur=line.strip(); d.setdefault(cur,{}); continue
        m=re.match(r'\s*([\d.]+)%\s+(.*)$',line)
        if m and cur and cur!="== by stack":
            k=re.sub(r"(d__|DisplayClass|b__|c__)\d+(_\d+)?","\\1N",m.group(2)); d[cur][k]=d[cur].get(k,0)+float(m.group(1))*kb/100
    return d
a=load(sys.argv[1],float(sys.argv[2]),None); b=load(sys.argv[3],float(sys.argv[4]),None)
for sec in a:
    keys=set(a[sec])|set(b.get(sec,{}))
    rows=sorted(keys,key=lambda k:-(b[sec].get(k,0)-a[sec].get(k,0)))
    print(sec, '(KB/msg: A B B-A)')
    for k in rows[:int(sys.argv[5]) if len(sys.argv)>5 else 25]:
        print(f"  {a[sec].get(k,0):6.2f} {b[sec].get(k,0):6.2f} {b[sec].get(k,0)-a[sec].get(k,0):+6.2f}  {k[:170]}")
