# Migration 35's cost on a store of N indexed messages, modelled in Python's sqlite3 (SQLite 3.40): the old table (as
# migration 27 made it) filled in bulk, then migration 35's script in one transaction (as the store runs a migration),
# WAL mode, synchronous=FULL; wall and CPU time, the WAL's size at the commit and the file's size before and after.
import sqlite3, time, os, random, sys
n=int(sys.argv[1]) if len(sys.argv)>1 else 1000000
path="/tmp/fts45/py/mig.db"
for s in ["","-wal","-shm"]:
    try: os.remove(path+s)
    except FileNotFoundError: pass
db=sqlite3.connect(path, isolation_level=None)
db.execute("pragma journal_mode=wal"); db.execute("pragma synchronous=full")
db.execute("create virtual table message_search using fts5(body, conv, conversation_id UNINDEXED, seq UNINDEXED, tokenize = 'trigram')")
rnd=random.Random(7)
vocab=["".join(rnd.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(rnd.randint(3,9))) for _ in range(5000)]
t0=time.time(); rowid=0
while rowid<n:
    rows=[]
    for i in range(min(50000,n-rowid)):
        rowid+=1; c=rnd.randrange(10000)
        txt=" ".join(rnd.choice(vocab) for _ in range(20))[:110]
        rows.append((rowid, txt, chr(0xF0000+c//100)+chr(0xF0000+c%100)+chr(0xF0100), f"si_{c}", rowid))
    db.execute("begin"); db.executemany("insert into message_search(rowid, body, conv, conversation_id, seq) values(?,?,?,?,?)", rows); db.execute("commit")
db.execute("insert into message_search(message_search) values('optimize')")
db.execute("pragma wal_checkpoint(truncate)")
size0=os.path.getsize(path)
print(f"built {n} rows in {time.time()-t0:.0f} s; file {size0/1e6:.0f} MB; load {os.getloadavg()}", flush=True)
script="""
DROP TABLE IF EXISTS message_search_next;
CREATE VIRTUAL TABLE message_search_next USING fts5(body, conv, conversation_id UNINDEXED, seq UNINDEXED, tokenize = 'trigram', columnsize = 0);
INSERT INTO message_search_next (rowid, body, conv, conversation_id, seq) SELECT rowid, body, conv, conversation_id, seq FROM message_search ORDER BY rowid;
DROP TABLE message_search;
ALTER TABLE message_search_next RENAME TO message_search;
"""
w0=time.time(); c0=time.process_time()
db.execute("begin")
db.executescript(script) if False else [db.execute(s) for s in script.strip().split(";\n") if s.strip()]
wal_before_commit=os.path.getsize(path+"-wal")
db.execute("commit")
wall=time.time()-w0; cpu=time.process_time()-c0
print(f"migration 35: wall {wall:.1f} s, cpu {cpu:.1f} s, WAL at commit {wal_before_commit/1e6:.0f} MB, file before {size0/1e6:.0f} MB; load {os.getloadavg()}", flush=True)
db.execute("pragma wal_checkpoint(truncate)")
print(f"file after checkpoint {os.path.getsize(path)/1e6:.0f} MB (freed pages stay in the file until VACUUM), free pages {db.execute('pragma freelist_count').fetchone()[0]}", flush=True)
db.close()
for s in ["","-wal","-shm"]:
    try: os.remove(path+s)
    except FileNotFoundError: pass
