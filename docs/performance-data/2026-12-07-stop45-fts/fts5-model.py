import sqlite3, time, os, sys, random
def run(label, opts="", automerge=None, batch=500, n=40000, convs=1000):
    path=f"/tmp/fts45/py/{label}.db"
    for s in ["","-wal","-shm"]:
        try: os.remove(path+s)
        except FileNotFoundError: pass
    db=sqlite3.connect(path, isolation_level=None)
    db.execute("pragma journal_mode=wal"); db.execute("pragma synchronous=off"); db.execute("pragma wal_autocheckpoint=0")
    db.execute(f"create virtual table s using fts5(body, conv, cid UNINDEXED, seq UNINDEXED, tokenize='trigram'{opts})")
    if automerge is not None: db.execute(f"insert into s(s, rank) values('automerge', {automerge})")
    db.execute("create temp table b(id integer primary key, body, conv, cid, seq)")
    rnd=random.Random(1)
    words="the quick brown fox jumps over lazy dog load test text payload with some words in it about hundred bytes long for search index".split()
    cpu=0.0; wal0=0; rowid=0
    for start in range(0,n,batch):
        rows=[]
        for i in range(batch):
            rowid+=1; c=rnd.randrange(convs)
            txt=" ".join(rnd.choice(words) for _ in range(18))[:110]
            rows.append((rowid, f"m {rowid:08d} "+txt, chr(0xF0000+c)*3, f"c{c}", rowid))
        db.execute("begin"); db.executemany("insert into b values(?,?,?,?,?)", rows)
        t=time.process_time()
        db.execute("insert into s(rowid, body, conv, cid, seq) select id, body, conv, cid, seq from b order by id")
        cpu+=time.process_time()-t
        db.execute("delete from b"); db.execute("commit")
    wal=os.path.getsize(path+"-wal")
    segs=db.execute("select count(*) from s_data").fetchone()[0]
    print(f"{label:28s} cpu {cpu*1e6/n:6.1f} us/row  wal {wal/n:7.0f} B/row  ({wal/4096/n*1:.3f} pages/row)  data rows {segs}", flush=True)
    db.close()
    for s in ["","-wal","-shm"]:
        try: os.remove(path+s)
        except FileNotFoundError: pass
for r in range(2):
    run("default")
    run("columnsize0", ", columnsize=0")
    run("automerge8", automerge=8)
    run("automerge16", automerge=16)
    run("batch2000", batch=2000)
    run("contentless", ", content='', contentless_delete=1") if sqlite3.sqlite_version>="3.43" else None
