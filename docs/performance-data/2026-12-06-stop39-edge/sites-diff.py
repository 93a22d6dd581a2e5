import sys,re
def load(p, sect):
    d={}; on=False
    for l in open(p):
        if l.startswith('== '): on = l.strip()==sect; continue
        if on:
            m=re.match(r'\s*([\d.]+)%\s+([\d.]+)\s+(.*)',l)
            if m: d[m.group(3)[:200]]=float(m.group(2))
    return d
sect = sys.argv[3] if len(sys.argv)>3 else '== by type'
a=load(sys.argv[1],sect); b=load(sys.argv[2],sect)
keys=sorted(set(a)|set(b), key=lambda k: -(abs(b.get(k,0)-a.get(k,0))))
print(f'sum a {sum(a.values()):.2f} b {sum(b.values()):.2f}')
for k in keys[:int(sys.argv[4]) if len(sys.argv)>4 else 40]:
    print(f'{a.get(k,0):7.3f} {b.get(k,0):7.3f} {b.get(k,0)-a.get(k,0):+7.3f}  {k}')
