# Throwaway: WAL frames per random-pair message, text-keyed (migration 29) vs ADR 0025 schemas.
import sqlite3, os, random, sys, time
OLD = """
CREATE TABLE conversations (conversation_id TEXT NOT NULL PRIMARY KEY, kind INTEGER NOT NULL, group_id TEXT, name TEXT NOT NULL,
 creator_id TEXT NOT NULL, created_at INTEGER NOT NULL, max_seq INTEGER NOT NULL DEFAULT 0, last_seq INTEGER NOT NULL DEFAULT 0,
 updated_at INTEGER NOT NULL, member_count INTEGER NOT NULL, read_diffusion INTEGER NOT NULL DEFAULT 0, head_version INTEGER NOT NULL DEFAULT 0,
 change_version INTEGER NOT NULL DEFAULT 0, mention_all_seq INTEGER NOT NULL DEFAULT 0) WITHOUT ROWID;
CREATE INDEX ix_conversations_head ON conversations (head_version) WHERE read_diffusion = 1;
CREATE TABLE conversation_keys (conv_key INTEGER PRIMARY KEY, conversation_id TEXT NOT NULL UNIQUE);
CREATE TABLE messages (conversation_id TEXT NOT NULL, seq INTEGER NOT NULL, server_msg_id TEXT NOT NULL, sender_id TEXT NOT NULL,
 client_msg_id TEXT NOT NULL, server_time INTEGER NOT NULL, content_kind INTEGER NOT NULL, content BLOB NOT NULL, revoked INTEGER NOT NULL DEFAULT 0,
 version INTEGER NOT NULL, annotations BLOB, reply_to_seq INTEGER NOT NULL DEFAULT 0, search_id INTEGER,
 PRIMARY KEY (conversation_id, seq), UNIQUE (conversation_id, sender_id, client_msg_id)) WITHOUT ROWID;
CREATE INDEX ix_messages_conv_version ON messages (conversation_id, version);
CREATE INDEX ix_messages_thread ON messages (conversation_id, reply_to_seq, seq) WHERE reply_to_seq > 0;
"""
NEW = """
CREATE TABLE conversations (conv_key INTEGER PRIMARY KEY, conversation_id TEXT NOT NULL UNIQUE, kind INTEGER NOT NULL, group_id TEXT, name TEXT NOT NULL,
 creator_id TEXT NOT NULL, created_at INTEGER NOT NULL, max_seq INTEGER NOT NULL DEFAULT 0, last_seq INTEGER NOT NULL DEFAULT 0,
 updated_at INTEGER NOT NULL, member_count INTEGER NOT NULL, read_diffusion INTEGER NOT NULL DEFAULT 0, head_version INTEGER NOT NULL DEFAULT 0,
 change_version INTEGER NOT NULL DEFAULT 0, mention_all_seq INTEGER NOT NULL DEFAULT 0);
CREATE INDEX ix_conversations_head ON conversations (head_version) WHERE read_diffusion = 1;
CREATE TABLE messages (conv_key INTEGER NOT NULL, seq INTEGER NOT NULL, server_msg_id TEXT NOT NULL, sender_id TEXT NOT NULL,
 client_msg_id TEXT NOT NULL, server_time INTEGER NOT NULL, content_kind INTEGER NOT NULL, content BLOB NOT NULL, revoked INTEGER NOT NULL DEFAULT 0,
 version INTEGER NOT NULL, annotations BLOB, reply_to_seq INTEGER NOT NULL DEFAULT 0, search_id INTEGER,
 PRIMARY KEY (conv_key, seq), UNIQUE (conv_key, sender_id, client_msg_id)) WITHOUT ROWID;
CREATE INDEX ix_messages_conv_version ON messages (conv_key, version);
CREATE INDEX ix_messages_thread ON messages (conv_key, reply_to_seq, seq) WHERE reply_to_seq > 0;
"""
COMMON = """
CREATE TABLE members (conv_key INTEGER NOT NULL, user_id TEXT NOT NULL, read_seq INTEGER NOT NULL DEFAULT 0, pinned INTEGER NOT NULL DEFAULT 0,
 muted INTEGER NOT NULL DEFAULT 0, feed_version INTEGER NOT NULL, role INTEGER NOT NULL DEFAULT 0, nickname TEXT NOT NULL DEFAULT '',
 muted_until INTEGER NOT NULL DEFAULT 0, joined_at INTEGER NOT NULL DEFAULT 0, inviter_id TEXT NOT NULL DEFAULT '', active INTEGER NOT NULL DEFAULT 1,
 visible_from INTEGER NOT NULL DEFAULT 1, info_version INTEGER NOT NULL DEFAULT 0, mentions_only INTEGER NOT NULL DEFAULT 0, mention_seq INTEGER NOT NULL DEFAULT 0,
 read_diffusion INTEGER NOT NULL DEFAULT 0, inviter_key INTEGER NOT NULL DEFAULT 0, PRIMARY KEY (conv_key, user_id)) WITHOUT ROWID;
CREATE INDEX ix_members_user_feed ON members (user_id, feed_version);
CREATE INDEX ix_members_conv_info ON members (conv_key, info_version) WHERE read_diffusion = 0 AND info_version > 0;
CREATE INDEX ix_members_user_info ON members (user_id, info_version) WHERE read_diffusion = 0 AND info_version > 0;
CREATE TABLE feed_state (id INTEGER NOT NULL PRIMARY KEY CHECK (id = 1), max_version INTEGER NOT NULL);
INSERT INTO feed_state VALUES (1, 0);
"""
TEXT = b"Lunch at the usual place tomorrow around 12:30? I will bring the report 00000000 we talked about"
def run(schema, users, prefill, measure, batch, seed):
    path = f"/tmp/db44/p-{schema}.db"
    for s in ("", "-wal", "-shm"):
        if os.path.exists(path + s): os.remove(path + s)
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL"); db.execute("PRAGMA synchronous=FULL"); db.execute("PRAGMA wal_autocheckpoint=0")
    db.execute("PRAGMA cache_size=-65536")
    db.executescript((OLD if schema == "old" else NEW) + COMMON)
    rnd = random.Random(seed)
    convs = {}  # id -> [key, seq]
    ver = [0]; nkey = [0]
    uid = lambda i: "u%06d" % i
    def msg(cur):
        a, b = rnd.sample(range(users), 2)
        a, b = min(a, b), max(a, b)
        cid = f"si_{uid(a)}_{uid(b)}"
        sender = uid(a) if rnd.random() < .5 else uid(b)
        ver[0] += 1; v = ver[0]; t = 1700000000000 + v
        c = convs.get(cid)
        if c is None:
            if schema == "old":
                cur.execute("INSERT INTO conversations (conversation_id,kind,group_id,name,creator_id,created_at,max_seq,last_seq,updated_at,member_count,head_version) VALUES (?,1,NULL,'',?,?,1,1,?,2,?)", (cid, sender, t, t, v))
                cur.execute("INSERT INTO conversation_keys (conversation_id) VALUES (?)", (cid,))
                key = cur.lastrowid
            else:
                cur.execute("INSERT INTO conversations (conversation_id,kind,group_id,name,creator_id,created_at,max_seq,last_seq,updated_at,member_count,head_version) VALUES (?,1,NULL,'',?,?,1,1,?,2,?)", (cid, sender, t, t, v))
                key = cur.lastrowid
            for u in (uid(a), uid(b)):
                cur.execute("INSERT INTO members (conv_key,user_id,read_seq,pinned,muted,feed_version) VALUES (?,?,?,0,0,?)", (key, u, 1 if u == sender else 0, v))
            c = convs[cid] = [key, 0]
            c[1] = 1; seq = 1; new = True
        else:
            c[1] += 1; seq = c[1]; new = False
        kcol = cid if schema == "old" else c[0]
        cur.execute("INSERT INTO messages (" + ("conversation_id" if schema == "old" else "conv_key") + ",seq,server_msg_id,sender_id,client_msg_id,server_time,content_kind,content,revoked,version,annotations,reply_to_seq,search_id) VALUES (?,?,?,?,?,?,1,?,0,?,NULL,0,?)",
                    (kcol, seq, "%016x" % rnd.getrandbits(64), sender, "%032x" % rnd.getrandbits(128), t, TEXT, v, v))
        if not new:
            if schema == "old":
                cur.execute("UPDATE conversations SET max_seq=MAX(max_seq,?), last_seq=MAX(last_seq,?), updated_at=MAX(updated_at,?), head_version=MAX(head_version,?) WHERE conversation_id=?", (seq, seq, t, v, cid))
            else:
                cur.execute("UPDATE conversations SET max_seq=MAX(max_seq,?), last_seq=MAX(last_seq,?), updated_at=MAX(updated_at,?), head_version=MAX(head_version,?) WHERE conv_key=?", (seq, seq, t, v, c[0]))
            cur.execute("UPDATE members SET read_seq=MAX(read_seq,?) WHERE conv_key=? AND user_id=?", (seq, c[0], sender))
            cur.execute("UPDATE members SET feed_version=MAX(feed_version,?) WHERE conv_key=? AND active=1", (v, c[0]))
        cur.execute("UPDATE feed_state SET max_version=?", (v,))
    cur = db.cursor()
    n = 0
    while n < prefill:
        cur.execute("BEGIN IMMEDIATE")
        for _ in range(batch): msg(cur)
        cur.execute("COMMIT"); n += batch
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA synchronous=FULL"); db.execute("PRAGMA wal_autocheckpoint=0"); db.execute("PRAGMA cache_size=-2000")
    cur = db.cursor()
    n = 0; newc = len(convs)
    while n < measure:
        cur.execute("BEGIN IMMEDIATE")
        for _ in range(batch): msg(cur)
        cur.execute("COMMIT"); n += batch
    wal = os.path.getsize(path + "-wal")
    frames = wal / (4096 + 24)
    size = os.path.getsize(path)
    db.close()
    return frames / n, size, len(convs) - newc
users, prefill, measure, batch = (int(x) for x in sys.argv[1:5])
for rnd_ in range(2):
    for s in (("old", "new") if rnd_ == 0 else ("new", "old")):
        f, size, opened = run(s, users, prefill, measure, batch, 7 + rnd_)
        print(f"{s}: {f:.2f} frames/msg, file {size/1e6:.1f} MB, {opened} of {measure} opened a conversation", flush=True)
