import sqlite3, random, string, sys, os
def varint(b,i):
    v=0
    for k in range(8):
        c=b[i+k]; v=(v<<7)|(c&0x7f)
        if c<0x80: return v,i+k+1
    v=(v<<8)|b[i+8]; return v,i+9
def struct(db):
    b=db.execute("select block from t_data where id=10").fetchone()[0]
    i=4; v2=False
    if b[4:8]==b'\xff\x00\x00\x01': v2=True; i=8
    nl,i=varint(b,i); ns,i=varint(b,i); wc,i=varint(b,i)
    lv=[]
    for L in range(nl):
        nm,i=varint(b,i); n,i=varint(b,i); segs=[]
        for s in range(n):
            sid,i=varint(b,i); f,i=varint(b,i); l,i=varint(b,i)
            if v2:
                for _ in range(5): _,i=varint(b,i)
            segs.append(l-f+1)
        lv.append((nm,segs))
    assert i==len(b),(i,len(b))
    return ns,lv
p='x.db'
if os.path.exists(p): os.remove(p)
db=sqlite3.connect(p); db.execute("pragma journal_mode=wal")
db.execute("create virtual table t using fts5(body, conv, tokenize='trigram')")
words=[''.join(random.choice(string.ascii_lowercase) for _ in range(random.randint(3,9))) for _ in range(5000)]
N=int(sys.argv[1]); B=int(sys.argv[2]); r=0
while r<N:
    with db:
        db.executemany("insert into t(rowid,body,conv) values(?,?,?)",[(r+k+1,' '.join(random.choice(words) for _ in range(8)),chr(0x4e00+random.randint(0,9999))*3) for k in range(B)])
    r+=B
    if r % (N//10)==0:
        ns,lv=struct(db); print(r, ns, [(nm,len(s),sum(s)) for nm,s in lv], flush=True)
