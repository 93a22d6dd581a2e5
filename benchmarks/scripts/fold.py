# fold.py <perf script output> <top>: inclusive and self samples per frame (one sample = 1 ms of CPU with
#   `perf record -e cpu-clock -c 1000000`).
# fold.py <base perf script output> <after perf script output> <top>: the frames by (after - base) samples, then the
#   top frames of after. components.py imports load() from here.
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
def agg(st):
    inc=collections.Counter(); sf=collections.Counter()
    for s in st:
        if s: sf[s[0]]+=1
        for f in set(s): inc[f]+=1
    return inc, sf
def main():
    top=int(sys.argv[-1])
    if len(sys.argv) == 3:
        stacks=load(sys.argv[1]); n=len(stacks); inc,sf=agg(stacks)
        print(f"samples: {n} (1 ms of CPU each)")
        for title,c in (("INCLUSIVE",inc),("SELF",sf)):
            print(f"== {title}")
            for k,v in c.most_common(top):
                print(f"{v:6d} {100.0*v/max(n,1):5.1f}%  {k[:170]}")
    else:
        a=load(sys.argv[1]); b=load(sys.argv[2])
        ia,sa=agg(a); ib,sb=agg(b)
        print(f"samples (1 ms CPU each): base {len(a)}  after {len(b)}  diff {len(b)-len(a)}")
        for title,(x,y) in (("INCLUSIVE",(ia,ib)),("SELF",(sa,sb))):
            print(f"== {title}: frames by (after - base) samples")
            keys=set(x)|set(y)
            for k in sorted(keys, key=lambda k: -(y[k]-x[k]))[:top]:
                print(f"{y[k]-x[k]:+6d}  base {x[k]:5d}  after {y[k]:5d}  {k[:160]}")
            print(f"== {title}: top after")
            for k,c in y.most_common(top):
                print(f"{c:6d} base {x[k]:5d}  {k[:160]}")

if __name__ == "__main__":
    main()
