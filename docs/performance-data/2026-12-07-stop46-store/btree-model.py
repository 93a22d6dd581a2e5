#!/usr/bin/env python3
"""btree-model.py [conversations=500] [per_commit=7] [warm=200] [commits=3000]: WAL frames per warm message of the message's own
B-trees under candidate layouts (issue 17, stop 46, store). A file holds only the message table and its indexes as the layout
defines them; each conversation is warmed with <warm> messages, then <commits> commits of <per_commit> messages each go to
random conversations (fixed pairs: a warm send appends to its conversation), and the WAL's growth counts the frames (no
checkpoint in the window). Rows are the server's shapes: a 26-character server id, a 10-character sender, a 36-character
client id (a UUID), ~150 bytes of protobuf content, 4 KiB pages. A count of pages, not a timing (CPU per message printed for
reference only)."""
import hashlib, os, random, sqlite3, sys, time, uuid

N = int(sys.argv[1]) if len(sys.argv) > 1 else 500
K = int(sys.argv[2]) if len(sys.argv) > 2 else 7
WARM = int(sys.argv[3]) if len(sys.argv) > 3 else 200
COMMITS = int(sys.argv[4]) if len(sys.argv) > 4 else 3000

COLS = "server_msg_id TEXT NOT NULL, sender_id TEXT NOT NULL, client_msg_id TEXT NOT NULL, server_time INTEGER NOT NULL, content_kind INTEGER NOT NULL, content BLOB NOT NULL, revoked INTEGER NOT NULL DEFAULT 0, version INTEGER NOT NULL, annotations BLOB, reply_to_seq INTEGER NOT NULL DEFAULT 0, search_id INTEGER"
LAYOUTS = {
    # as built (migration 30): WITHOUT ROWID by (conv_key, seq), the dedup UNIQUE, the version index
    "current": (f"CREATE TABLE messages (conv_key INTEGER NOT NULL, seq INTEGER NOT NULL, {COLS}, PRIMARY KEY (conv_key, seq), UNIQUE (conv_key, sender_id, client_msg_id)) WITHOUT ROWID;"
                "CREATE INDEX ix_v ON messages (conv_key, version);", False),
    # smaller dedup keys: a 64-bit hash of (sender, client id) instead of the two texts (still one entry per message)
    "dedup-hash": (f"CREATE TABLE messages (conv_key INTEGER NOT NULL, seq INTEGER NOT NULL, dedup INTEGER NOT NULL, {COLS}, PRIMARY KEY (conv_key, seq)) WITHOUT ROWID;"
                   "CREATE INDEX ix_d ON messages (conv_key, dedup); CREATE INDEX ix_v ON messages (conv_key, version);", True),
    # the version index holds only rows changed after their insert (an edit, a revoke): a new message writes 2 B-trees
    "version-partial": (f"CREATE TABLE messages (conv_key INTEGER NOT NULL, seq INTEGER NOT NULL, created_version INTEGER NOT NULL, {COLS}, PRIMARY KEY (conv_key, seq), UNIQUE (conv_key, sender_id, client_msg_id)) WITHOUT ROWID;"
                        "CREATE INDEX ix_v ON messages (conv_key, version) WHERE version <> created_version;", False),
    "dedup-hash+version-partial": (f"CREATE TABLE messages (conv_key INTEGER NOT NULL, seq INTEGER NOT NULL, dedup INTEGER NOT NULL, created_version INTEGER NOT NULL, {COLS}, PRIMARY KEY (conv_key, seq)) WITHOUT ROWID;"
                                   "CREATE INDEX ix_d ON messages (conv_key, dedup); CREATE INDEX ix_v ON messages (conv_key, version) WHERE version <> created_version;", True),
    # version-partial with a sparse anchor: every 64th message's insert version indexed, so a sync finds where the messages
    # newer than its cursor start (the last anchor at or below it, then at most 63 rows of the table) without the full index
    "version-anchor": (f"CREATE TABLE messages (conv_key INTEGER NOT NULL, seq INTEGER NOT NULL, created_version INTEGER NOT NULL, {COLS}, PRIMARY KEY (conv_key, seq), UNIQUE (conv_key, sender_id, client_msg_id)) WITHOUT ROWID;"
                       "CREATE INDEX ix_a ON messages (conv_key, created_version) WHERE seq % 64 = 0;"
                       "CREATE INDEX ix_v ON messages (conv_key, version) WHERE version <> created_version;", False),
    # a rowid table in insertion order (the rows of a commit share the right-most leaf) with (conv_key, seq) as an index
    "rowid-append": (f"CREATE TABLE messages (id INTEGER PRIMARY KEY, conv_key INTEGER NOT NULL, seq INTEGER NOT NULL, {COLS});"
                     "CREATE UNIQUE INDEX ix_s ON messages (conv_key, seq); CREATE UNIQUE INDEX ix_d ON messages (conv_key, sender_id, client_msg_id);"
                     "CREATE INDEX ix_v ON messages (conv_key, version);", False),
}

def run(name, ddl, hashed):
    path = f"/tmp/store46-model-{os.getpid()}.db"
    for s in ("", "-wal", "-shm"):
        if os.path.exists(path + s): os.remove(path + s)
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA page_size=4096"); db.execute("PRAGMA journal_mode=WAL"); db.execute("PRAGMA synchronous=OFF")
    db.execute("PRAGMA wal_autocheckpoint=0")
    db.executescript(ddl)
    cols = [r[1] for r in db.execute("PRAGMA table_info(messages)")]
    rnd = random.Random(46)
    seq = [0] * N
    version = [0]
    def row(c):
        seq[c] += 1; version[0] += 1
        sender = f"user-{2 * c + rnd.randrange(2):05d}"
        cmid = str(uuid.UUID(int=rnd.getrandbits(128)))
        r = {"conv_key": c + 1, "seq": seq[c], "server_msg_id": "%026x" % rnd.getrandbits(104), "sender_id": sender, "client_msg_id": cmid,
             "server_time": 1765000000000 + version[0], "content_kind": 1, "content": rnd.randbytes(150), "version": version[0],
             "created_version": version[0], "reply_to_seq": 0, "search_id": version[0], "annotations": None, "revoked": 0}
        if "dedup" in cols:
            r["dedup"] = int.from_bytes(hashlib.blake2b(f"{sender}\0{cmid}".encode(), digest_size=8).digest(), "little", signed=True)
        if "id" in cols:
            r["id"] = version[0]
        return tuple(r[k] for k in cols)
    sql = f"INSERT INTO messages ({','.join(cols)}) VALUES ({','.join('?' * len(cols))})"
    db.execute("BEGIN")
    for i in range(WARM):
        for c in rnd.sample(range(N), N):
            db.execute(sql, row(c))
    db.execute("COMMIT"); db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    before = os.path.getsize(path + "-wal"); cpu = 0.0
    for _ in range(COMMITS):
        rows = [row(c) for c in rnd.sample(range(N), K)]
        t = time.process_time()
        db.execute("BEGIN")
        if hashed:  # the dedup check a hash index needs before the insert (the server checks by lookup today too)
            for r in rows:
                db.execute("SELECT seq FROM messages WHERE conv_key = ? AND dedup = ?", (r[cols.index("conv_key")], r[cols.index("dedup")])).fetchall()
        db.executemany(sql, rows)
        db.execute("COMMIT")
        cpu += time.process_time() - t
    frames = (os.path.getsize(path + "-wal") - max(before, 32)) / (4096 + 24)
    # Which B-tree each frame of the window wrote (dbstat's page map; page 1 is sqlite_schema's root and the header).
    names = {}
    for n, pg, t in db.execute("SELECT name, pageno, pagetype FROM dbstat"):
        names[pg] = n + ("" if t == "leaf" else " (internal)")
    split = {}
    with open(path + "-wal", "rb") as f:
        f.seek(max(before, 32))
        while True:
            h = f.read(24)
            if len(h) < 24: break
            pg = int.from_bytes(h[:4], "big")
            split[names.get(pg, "?new/free")] = split.get(names.get(pg, "?new/free"), 0) + 1
            f.seek(4096, 1)
    size = os.path.getsize(path)
    db.close()
    for s in ("", "-wal", "-shm"):
        if os.path.exists(path + s): os.remove(path + s)
    print(f"{name:30s} {frames / (COMMITS * K):6.2f} frames/message  {cpu / (COMMITS * K) * 1e6:6.1f} us CPU/message  file {size / 1e6:6.1f} MB (after warm-up)")
    print("    " + ", ".join(f"{k} {v / (COMMITS * K):.2f}" for k, v in sorted(split.items(), key=lambda kv: -kv[1])))

print(f"# {N} conversations warmed with {WARM} messages each, {COMMITS} commits of {K} messages, SQLite {sqlite3.sqlite_version}")
for name in (sys.argv[5].split(",") if len(sys.argv) > 5 else LAYOUTS):
    run(name, *LAYOUTS[name])
