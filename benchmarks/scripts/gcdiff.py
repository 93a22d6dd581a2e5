# gcdiff.py <path prefix> <users> [rows]: the managed heap per connection between <prefix>.before.txt and <prefix>.idle.txt
# (dotnet-gcdump reports), in total and by type (the [rows] largest, default 45).
import sys,re
base,users=sys.argv[1],int(sys.argv[2])
def load(p):
    d={};tot=0
    for line in open(p):
        m=re.match(r'\s*([\d,]+)\s+GC Heap bytes',line)
        if m: tot=int(m.group(1).replace(',',''))
        m=re.match(r'\s*([\d,]+)\s+([\d,]+)\s+(.+?)\s*$',line)
        if m:
            size=int(m.group(1).replace(',',''));cnt=int(m.group(2).replace(',',''));name=m.group(3)
            s,c=d.get(name,(0,0)); d[name]=(s+size*cnt,c+cnt)
    return d,tot
b,bt=load(base+'.before.txt'); i,it=load(base+'.idle.txt')
print(f"{base.split('/')[-1]}: heap before {bt/1e6:.1f} MB, idle {it/1e6:.1f} MB: {(it-bt)/users/1024:.2f} KB managed per connection")
rows=sorted(((i[k][0]-b.get(k,(0,0))[0], i[k][1]-b.get(k,(0,0))[1], k) for k in i), reverse=True)[:int(sys.argv[3]) if len(sys.argv)>3 else 45]
for s,c,k in rows: print(f"  {s/users:8.1f} B/conn {c/users:6.2f} obj/conn  {k[:140]}")
