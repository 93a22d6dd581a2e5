import re,collections,sys
stacks=[];cur=None;comm=None
for line in open(sys.argv[1],errors='replace'):
    if not line.strip():
        if cur is not None: stacks.append((comm,cur))
        cur=None;continue
    if not line.startswith(('\t',' ')):
        cur=[];comm=line[:16];continue
    p=line.strip().split(' ',1); s=p[1] if len(p)>1 else p[0]
    s=re.sub(r'\s*\((/[^)]*|\[[^)]*\])\)\s*$','',s); s=re.sub(r'\+0x[0-9a-f]+$','',s)
    s=re.sub(r'\[(Optimized|OptimizedTier1|QuickJitted|Tier0|Tier1|PreJIT|Instrumented|OptimizedTier1OSR)\]','',s)
    m=re.search(r'\] ([^ \[\]]+::[^(]+)\(',s)
    if m: s=m.group(1)
    cur.append(s.strip())
tot=len(stacks)
idle=[s for c,s in stacks if any('LowLevelSpinWaiter' in f or 'LowLevelLifoSemaphore' in f for f in s)]
jit=[s for c,s in stacks if c.startswith('.NET Tiered')]
busy=[s for c,s in stacks if not any('LowLevelSpinWaiter' in f or 'LowLevelLifoSemaphore' in f for f in s) and not c.startswith('.NET Tiered')]
print(f"samples {tot}; thread-pool spin/wait {len(idle)} ({100*len(idle)/tot:.1f}%); tiered JIT {len(jit)} ({100*len(jit)/tot:.1f}%); busy {len(busy)}")
cats=[('SQLite (libe_sqlite3)',lambda s:any(('sqlite3' in f or 'pcache1' in f or 'wal' in f.lower()[:4]) for f in s[:3])),
]
inc=collections.Counter()
for s in busy:
    for f in set(s): inc[f]+=1
pats=sys.argv[2:]
for p in pats:
    n=sum(1 for s in busy if any(re.search(p,f) for f in s))
    print(f"{100*n/len(busy):5.1f}%  {n:5d}  {p}")
