# Stop 39 (lead): does FTS5 finish a full merge started by one `merge -64` inside later inserts? 40 batches of 300 rows,
# then (or not) one merge step, then 40 more batches; total_changes during the second 40 batches (SQLite 3.40.1, Python).
import sqlite3, random, os
def run(start_full):
    p="/tmp/fts_cont.db"
    for s in ["","-wal","-shm"]:
        try: os.remove(p+s)
        except: pass
    c=sqlite3.connect(p, isolation_level=None)
    c.execute("pragma journal_mode=wal")
    c.execute("create virtual table ms using fts5(body, tokenize='trigram')")
    rnd=random.Random(1); rid=0
    def batch():
        nonlocal rid
        c.execute("begin")
        for i in range(300):
            rid+=1
            c.execute("insert into ms(rowid, body) values (?,?)", (rid, "".join(rnd.choice("abcdefghijklmnopqrstuvwxyz ") for _ in range(100))))
        c.execute("commit")
    for b in range(40): batch()
    segs=lambda: c.execute("select count(*) from ms_idx where segid>=0 and term=''").fetchone()[0]
    if start_full:
        t0=c.total_changes
        c.execute("insert into ms(ms, rank) values('merge', -64)")
        print(" merge -64 step wrote", c.total_changes-t0, "rows")
    t0=c.total_changes
    for b in range(40): batch()
    data_rows=c.execute("select count(*) from ms_data").fetchone()[0]
    print("start_full",start_full,"changes during 40 more batches", c.total_changes-t0, "ms_data rows", data_rows)
run(False); run(True)
