# Stop 36 (search): CPU per row of FTS5 trigram inserts shaped like message_search, by FTS5 option. Run: python3 fts5-insert-cost.py
import sqlite3, time, os, resource
def cpu(): r=resource.getrusage(resource.RUSAGE_SELF); return r.ru_utime+r.ru_stime
text="m %08d load test text payload with some words in it, about a hundred bytes long for the search index."
def run(opts, extra="", n=8000, batch=500):
    path="/tmp/fts_exp.db"
    for s in ["","-wal","-shm"]:
        try: os.remove(path+s)
        except: pass
    c=sqlite3.connect(path, isolation_level=None)
    c.execute("pragma journal_mode=wal"); c.execute("pragma synchronous=full")
    c.execute(f"create virtual table ms using fts5(body, conv, conversation_id UNINDEXED, seq UNINDEXED, tokenize='trigram'{opts})")
    if extra: c.execute(extra)
    rowid=0; t=0
    for b in range(n//batch):
        rows=[]
        for i in range(batch):
            rowid+=1; rows.append((rowid, text%rowid, "\U000F0001\U000F0002\U000F0003", "si_user-000042_user-000123", rowid))
        t0=cpu()
        c.execute("begin immediate")
        c.execute("create temp table if not exists b(id integer primary key, body, conv, cid, seq)")
        c.executemany("insert into temp.b values (?,?,?,?,?)", rows)
        c.execute("insert into ms(rowid, body, conv, conversation_id, seq) select * from temp.b order by id")
        c.execute("delete from temp.b")
        c.execute("commit")
        t+=cpu()-t0
    c.close()
    return t/n*1e6
print(sqlite3.sqlite_version)
for name,opts,extra in [("base","",""),("columnsize=0",", columnsize=0",""),("automerge=0","", "insert into ms(ms, rank) values('automerge', 0)"),("automerge=8","", "insert into ms(ms, rank) values('automerge', 8)"),("pgsz=4050","","insert into ms(ms, rank) values('pgsz', 4050)")]:
    r=[run(opts,extra) for _ in range(3)]
    print(name, ["%.1f"%x for x in r])
