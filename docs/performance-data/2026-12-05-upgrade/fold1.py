# fold1.py <perf script output> <top>: inclusive and self samples per frame (one sample = 1 ms of CPU).
import sys, re, collections
def simp(sym):
    sym = re.sub(r'\[(Optimized|OptimizedTier1|QuickJitted|Tier0|Tier1|PreJIT|Instrumented|OptimizedTier1OSR)\]', '', sym)
    m = re.search(r'\] ([^ \[\]]+::[^(]+)\(', sym)
    if m: sym = m.group(1)
    sym = re.sub(r'\+0x[0-9a-f]+$', '', sym)
    return sym.strip()
stacks=[]; cur=None
for line in open(sys.argv[1], errors='replace'):
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
top=int(sys.argv[2]); n=len(stacks)
inc=collections.Counter(); sf=collections.Counter()
for s in stacks:
    if s: sf[s[0]]+=1
    for f in set(s): inc[f]+=1
print(f"samples: {n} (1 ms of CPU each)")
for title,c in (("INCLUSIVE",inc),("SELF",sf)):
    print(f"== {title}")
    for k,v in c.most_common(top):
        print(f"{v:6d} {100.0*v/max(n,1):5.1f}%  {k[:170]}")
