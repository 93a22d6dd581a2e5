# mb-convkey.py [rounds]: stop 46 cpu's throwaway: the writer's message insert with the conversation's key looked up by its
# text id inside the statement (as the server does) against the key bound directly; CPU per message, alternating.
import sqlite3, time, os, sys, random
path='/tmp/mb-convkey.db'
for s in ('','-wal','-shm'):
    try: os.remove(path+s)
    except FileNotFoundError: pass
db=sqlite3.connect(path, isolation_level=None)
# The server's schema after ADR 0025 (migration 30), as stop 44 db's proto.py has it (its NEW), not copied here.
import ast
proto = open(os.path.join(os.path.dirname(os.path.abspath(__file__)), '../2026-12-07-stop44-db/proto.py')).read()
NEW = next(n.value.value for n in ast.parse(proto).body if isinstance(n, ast.Assign) and getattr(n.targets[0], 'id', '') == 'NEW')
db.executescript("PRAGMA journal_mode=WAL; PRAGMA synchronous=OFF; PRAGMA cache_size=-16384;" + NEW)
N=500
ids=[f"d:u{i:05d}-u{i+N:05d}-{os.urandom(4).hex()}" for i in range(N)]
db.execute("BEGIN")
for i,c in enumerate(ids): db.execute("INSERT INTO conversations(conversation_id,kind,name,creator_id,created_at,updated_at,member_count) VALUES(?,1,'','u',0,0,2)",(c,))
db.execute("COMMIT")
keys={c:k for k,c in db.execute("SELECT conv_key, conversation_id FROM conversations")}
seq=[0]*N; ver=[0]
sub="INSERT INTO messages VALUES ((SELECT conv_key FROM conversations WHERE conversation_id = ?), ?, ?, ?, ?, ?, 1, ?, 0, ?, NULL, 0, ?)"
direct="INSERT INTO messages VALUES (?, ?, ?, ?, ?, ?, 1, ?, 0, ?, NULL, 0, ?)"
content=os.urandom(60)
def batch(mode, n=64):
    db.execute("BEGIN")
    for _ in range(n):
        i=random.randrange(N); seq[i]+=1; ver[0]+=1
        a=(ids[i] if mode=='sub' else keys[ids[i]], seq[i], os.urandom(8).hex()+'-srv', f"u{i:05d}", f"c-{ver[0]}-{os.urandom(6).hex()}", 1700000000000+ver[0], content, ver[0], ver[0])
        db.execute(sub if mode=='sub' else direct, a)
    db.execute("COMMIT")
res={'sub':[0,0],'direct':[0,0]}
for r in range(int(sys.argv[1]) if len(sys.argv)>1 else 400):
    for mode in (('sub','direct') if r%2==0 else ('direct','sub')):
        t=time.thread_time_ns(); batch(mode); res[mode][0]+=time.thread_time_ns()-t; res[mode][1]+=64
for m,(ns,n) in res.items(): print(m, f"{ns/n/1000:.2f} us CPU/msg (Python's included)", n)
