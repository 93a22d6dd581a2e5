#!/usr/bin/env python3
"""adr0034-check.py: ADR 0034's sync by version through the two partial indexes returns exactly the rows the version index
returns today. A random store (Python's SQLite): 60 conversations, 6,000 messages committed in order (a message's version is
its first-commit version, search_id), the first 300 from before migration 15 (search_id NULL), then 900 edits or revokes
(version raised, search_id kept); for 3,000 random (since, until) pairs and conversations, the rows with
since < version <= until through ix_messages_conv_version (as built) and through ix_messages_changed + the anchor (ADR 0034)
are compared as sets. Prints the query plans (which index each part uses) and the count of mismatches (0 expected)."""
import random, sqlite3

db = sqlite3.connect(":memory:")
db.executescript("""
CREATE TABLE messages (conv_key INTEGER NOT NULL, seq INTEGER NOT NULL, version INTEGER NOT NULL, search_id INTEGER,
  PRIMARY KEY (conv_key, seq)) WITHOUT ROWID;
CREATE INDEX ix_messages_conv_version ON messages (conv_key, version);
CREATE INDEX ix_messages_changed ON messages (conv_key, version) WHERE search_id IS NULL OR version <> search_id;
CREATE INDEX ix_messages_anchor ON messages (conv_key, search_id) WHERE seq % 64 = 0;
""")
rnd = random.Random(34)
seq = {}
v = 0
for i in range(6000):
    c = rnd.randrange(60); v += 1
    seq[c] = seq.get(c, 0) + 1
    db.execute("INSERT INTO messages VALUES (?, ?, ?, ?)", (c, seq[c], v, None if i < 300 else v))
for _ in range(900):
    c = rnd.randrange(60)
    if c not in seq: continue
    v += 1
    db.execute("UPDATE messages SET version = ? WHERE conv_key = ? AND seq = ?", (v, c, rnd.randrange(1, seq[c] + 1)))

OLD = "SELECT seq FROM messages INDEXED BY ix_messages_conv_version WHERE conv_key = :c AND version > :since AND version <= :until"
NEW_CHANGED = "SELECT seq FROM messages WHERE conv_key = :c AND (search_id IS NULL OR version <> search_id) AND version > :since AND version <= :until"
NEW_ADDED = """SELECT seq FROM messages WHERE conv_key = :c
  AND seq >= COALESCE((SELECT a.seq FROM messages a WHERE a.conv_key = :c AND a.seq % 64 = 0 AND a.search_id <= :since ORDER BY a.search_id DESC LIMIT 1), 0)
  AND version = search_id AND search_id > :since AND search_id <= :until"""
for name, sql in (("as built", OLD), ("changed rows", NEW_CHANGED), ("new rows from the anchor", NEW_ADDED)):
    plan = db.execute("EXPLAIN QUERY PLAN " + sql, {"c": 1, "since": 10, "until": 20}).fetchall()
    print(f"{name}: " + " | ".join(r[3] for r in plan))
bad = 0
for _ in range(3000):
    c = rnd.randrange(60); a = rnd.randrange(0, v + 1); b = rnd.randrange(a, v + 2)
    p = {"c": c, "since": a, "until": b}
    old = {r[0] for r in db.execute(OLD, p)}
    new = [r[0] for r in db.execute(NEW_CHANGED, p)] + [r[0] for r in db.execute(NEW_ADDED, p)]
    if old != set(new) or len(new) != len(set(new)):
        bad += 1
print(f"3000 random (conversation, since, until): {bad} differ")
