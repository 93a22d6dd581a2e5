import sys,re,collections
pats=sys.argv[2:]
data=open(sys.argv[1],errors='replace').read().split("\n\n")
c=collections.Counter(); n=0
for st in data:
    lines=[l.strip() for l in st.split("\n")[1:] if l.strip()]
    if not lines: continue
    n+=1
    txt="\n".join(lines)
    for p in pats:
        if re.search(p,txt): c[p]+=1
print("samples",n)
for p in pats: print(f"{c[p]:6d} {100*c[p]/n:5.1f}%  {p}")
