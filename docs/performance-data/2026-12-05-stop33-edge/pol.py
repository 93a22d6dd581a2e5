import sqlite3, random, string, sys, os
exec(open('seg.py').read().split("p='x.db'")[0])
p='y.db'
if os.path.exists(p): os.remove(p)
db=sqlite3.connect(p); db.execute("pragma journal_mode=wal")
db.execute("create virtual table t using fts5(body, conv, tokenize='trigram')")
db.execute("insert into t(t,rank) values('usermerge',2)")
MAXSEG=int(sys.argv[3]); RATIO=int(sys.argv[4])
words=[''.join(random.choice(string.ascii_lowercase) for _ in range(random.randint(3,9))) for _ in range(5000)]
N=int(sys.argv[1]); B=int(sys.argv[2]); r=0; written=0; steps=0
def step():
    ns,lv=struct(db)
    if ns<=1: return False
    sizes=[s for nm,segs in lv for s in segs]; big=max(sizes); tail=sum(sizes)-big
    inprog=any(nm>0 for nm,_ in lv)
    full = tail*RATIO>=big
    if full: cmd=-64
    elif ns>MAXSEG or inprog: cmd=64
    else: return False
    before=db.total_changes
    with db: db.execute("insert into t(t,rank) values('merge',?)",(cmd,))
    return db.total_changes-before>=2
maxns=0
while r<N:
    with db:
        db.executemany("insert into t(rowid,body,conv) values(?,?,?)",[(r+k+1,' '.join(random.choice(words) for _ in range(8)),chr(0x4e00+random.randint(0,9999))*3) for k in range(B)])
    r+=B
    ns,lv=struct(db); maxns=max(maxns,ns)
    while step(): steps+=1
    if r % (N//10)==0:
        ns,lv=struct(db); print(r, ns, "max before idle",maxns,"steps",steps,[(nm,len(s),sum(s)) for nm,s in lv if s], flush=True); maxns=0
