import sys, re, collections
def simp(sym):
    sym = re.sub(r'\[(Optimized|OptimizedTier1|QuickJitted|Tier0|Tier1|PreJIT|Instrumented|OptimizedTier1OSR)\]', '', sym)
    m = re.search(r'\] ([^ \[\]]+::[^(]+)\(', sym)
    if m: sym = m.group(1)
    sym = re.sub(r'\+0x[0-9a-f]+$', '', sym)
    return sym.strip()
def load(path):
    stacks=[]; cur=None
    for line in open(path, errors='replace'):
        if not line.strip():
            if cur is not None: stacks.append(cur)
            cur=None; continue
        if not line.startswith(('\t',' ')):
            cur=[]; continue
        parts=line.strip().split(' ',1)
        sym=parts[1] if len(parts)>1 else parts[0]
        sym=re.sub(r'\s*\((/[^)]*|\[[^)]*\])\)\s*$','',sym)
        cur.append(simp(sym))
    if cur is not None: stacks.append(cur)
    return stacks
a=load(sys.argv[1]); b=load(sys.argv[2]); top=int(sys.argv[3])
def agg(st):
    inc=collections.Counter(); sf=collections.Counter()
    for s in st:
        if s: sf[s[0]]+=1
        for f in set(s): inc[f]+=1
    return inc, sf
ia,sa=agg(a); ib,sb=agg(b)
print(f"samples (1 ms CPU each, 10 s window at 1,000 msg/s): base {len(a)}  after {len(b)}  diff {len(b)-len(a)}")
for title,(x,y) in (("INCLUSIVE",(ia,ib)),("SELF",(sa,sb))):
    print(f"== {title}: frames by (after - base) samples")
    keys=set(x)|set(y)
    for k in sorted(keys, key=lambda k: -(y[k]-x[k]))[:top]:
        print(f"{y[k]-x[k]:+6d}  base {x[k]:5d}  after {y[k]:5d}  {k[:160]}")
    print(f"== {title}: top after")
    for k,c in y.most_common(top):
        print(f"{c:6d} base {x[k]:5d}  {k[:160]}")
