#!/usr/bin/env python3
"""wal-replay.py <migrated empty parley.db> <work dir> [page sizes] [batch sizes] : issue 17 (stop 45, tail; ADR 0030).

What SQLite's page size does to a warm 1:1 commit, independent of the machine's CPU load: the writes a batch of fixed-pair
messages makes in the server's schema (a copy of a freshly migrated parley.db, e.g. `VACUUM INTO` from a server's data
directory), replayed through Python's sqlite3 with the writer's settings (WAL, synchronous=FULL, 16 MiB cache, temp_store
MEMORY, no auto-checkpoint) on a file of each page size, in commits of a fixed number of messages. Per message, as the
store's commit does it (SqliteMessageStore.Commit.cs): the message row (conv_key, seq; ~200 bytes), the conversation's
max_seq/last_seq/updated_at/head_version, both members' feed_version, the sender's read_seq, the feed_state's version, and
the message's text in the FTS5 trigram index (which the server's search indexer writes in its own, later transactions:
counted here in the same commit). 500 conversations between 1,000 users, PREFILL (default 100) messages each before the
measurement (in big unsynced transactions, then a checkpoint), then ROUNDS (default 3) rounds of COMMITS (default 60)
commits per batch size, page sizes interleaved within each round.

Per page size and batch size: WAL frames and bytes per message (the WAL file's growth, never checkpointed while measured),
frames per commit, the COMMIT's time (its WAL write and fsync: p50/p90/p99/max; on a loaded machine not a claim), the
process's CPU per message (Python's own part included: compare page sizes, not absolute values) and the B-trees' depth.
"""
import os, random, shutil, sqlite3, statistics, sys, time

empty, work = sys.argv[1], sys.argv[2]
sizes = [int(x) for x in (sys.argv[3] if len(sys.argv) > 3 else "1024,2048,4096").split(",")]
batches = [int(x) for x in (sys.argv[4] if len(sys.argv) > 4 else "8,32,128").split(",")]
PREFILL = int(os.environ.get("PREFILL", "100"))
ROUNDS = int(os.environ.get("ROUNDS", "3"))
COMMITS = int(os.environ.get("COMMITS", "60"))
CONVS, USERS = 500, 1000
os.makedirs(work, exist_ok=True)
rng = random.Random(45)
words = "the a message hello meeting tomorrow lunch project update thanks please call later ok sure review code deploy".split()

LONG = float(os.environ.get("LONG", "0"))  # the share of messages with a long text (LONG_WORDS words, ~6 bytes each)
LONG_WORDS = int(os.environ.get("LONG_WORDS", "70"))
# the measured commits' synchronous setting (FULL, the server's; OFF counts the same WAL frames faster on a loaded machine)
SYNC = os.environ.get("SYNC", "FULL").upper()
if SYNC not in ("FULL", "NORMAL", "OFF"):
    sys.exit("SYNC must be FULL, NORMAL or OFF")

def text(i):
    n = LONG_WORDS if LONG and rng.random() < LONG else 6
    return " ".join(rng.choice(words) for _ in range(n)) + f" {i}"

class Db:
    def __init__(self, size):
        self.size = size
        self.path = os.path.join(work, f"replay-{size}.db")
        for suffix in ("", "-wal", "-shm"):
            if os.path.exists(self.path + suffix):
                os.remove(self.path + suffix)
        shutil.copyfile(empty, self.path)
        c = sqlite3.connect(self.path, isolation_level=None)
        c.executescript(f"PRAGMA journal_mode=DELETE; PRAGMA page_size={size}; VACUUM; PRAGMA journal_mode=WAL;")
        assert c.execute("PRAGMA page_size").fetchone()[0] == size
        c.create_function("noop", 1, lambda x: x)
        self.c = c
        self.seq = [0] * CONVS
        self.version = 0
        self.search = 0
        c.execute("PRAGMA synchronous=OFF")
        c.execute("BEGIN")
        for k in range(CONVS):
            a, b = f"u{2 * k:05d}", f"u{2 * k + 1:05d}"
            c.execute("INSERT INTO conversations (conv_key, conversation_id, kind, name, creator_id, created_at, updated_at, member_count) "
                      "VALUES (?, ?, 1, '', ?, 0, 0, 2)", (k + 1, f"d:{a}:{b}", a))
            for u in (a, b):
                c.execute("INSERT INTO members (conv_key, user_id, feed_version) VALUES (?, ?, 0)", (k + 1, u))
        c.execute("COMMIT")
        for start in range(0, PREFILL * CONVS, 5000):
            c.execute("BEGIN")
            for _ in range(min(5000, PREFILL * CONVS - start)):
                self.message(rng.randrange(CONVS), index=True)
            c.execute("COMMIT")
        c.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        c.executescript(f"PRAGMA synchronous={SYNC}; PRAGMA cache_size=-16384; PRAGMA temp_store=MEMORY; PRAGMA wal_autocheckpoint=0;")
        self.stats = {}

    def message(self, k, index):
        c = self.c
        self.seq[k] += 1
        self.version += 1
        seq, v = self.seq[k], self.version
        sender = f"u{2 * k + (seq & 1):05d}"
        body = text(v)
        raw = body.encode()
        content = b"\x0a" + bytes([len(raw) & 0x7f | 0x80, len(raw) >> 7]) + raw if len(raw) > 127 else b"\x0a" + bytes([len(raw)]) + raw
        c.execute("INSERT INTO messages (conv_key, seq, server_msg_id, sender_id, client_msg_id, server_time, content_kind, content, revoked, version, "
                  "annotations, reply_to_seq, search_id) VALUES (?, ?, ?, ?, ?, ?, 1, ?, 0, ?, NULL, 0, ?)",
                  (k + 1, seq, f"{v:026d}", sender, f"{rng.getrandbits(128):032x}", 1796000000000 + v, content, v, v))
        c.execute("UPDATE conversations SET max_seq = MAX(max_seq, ?), last_seq = MAX(last_seq, ?), updated_at = MAX(updated_at, ?), "
                  "head_version = MAX(head_version, ?) WHERE conversation_id = ?", (seq, seq, v, v, f"d:u{2 * k:05d}:u{2 * k + 1:05d}"))
        c.execute("UPDATE members SET feed_version = MAX(feed_version, ?) WHERE conv_key = ? AND active = 1", (v, k + 1))
        c.execute("UPDATE members SET read_seq = MAX(read_seq, ?) WHERE conv_key = ? AND user_id = ?", (seq, k + 1, sender))
        if index:
            c.execute("INSERT INTO message_search (rowid, body, conv, conversation_id, seq) VALUES (?, ?, ?, ?, ?)",
                      (v, body, f"c{k + 1}", f"d:u{2 * k:05d}:u{2 * k + 1:05d}", seq))

    def commit_batch(self, n):
        c = self.c
        wal = self.path + "-wal"
        w0 = os.path.getsize(wal) if os.path.exists(wal) else 0
        cpu0 = time.process_time()
        c.execute("BEGIN IMMEDIATE")
        for _ in range(n):
            self.message(rng.randrange(CONVS), index=True)
        c.execute("UPDATE feed_state SET max_version = MAX(max_version, ?) WHERE id = 1", (self.version,))
        t0 = time.perf_counter()
        c.execute("COMMIT")
        t1 = time.perf_counter()
        cpu1 = time.process_time()
        w1 = os.path.getsize(wal)
        s = self.stats.setdefault(n, {"frames": 0, "bytes": 0, "msgs": 0, "commit_ms": [], "cpu": 0.0, "commits": 0})
        grow = w1 - w0 - (32 if w0 == 0 else 0)
        s["frames"] += grow // (self.size + 24)
        s["bytes"] += grow
        s["msgs"] += n
        s["commits"] += 1
        s["commit_ms"].append((t1 - t0) * 1e3)
        s["cpu"] += cpu1 - cpu0

    def depth(self, name):
        return self.c.execute("SELECT max(length(path) - length(replace(path, '/', ''))) FROM dbstat WHERE name = ?", (name,)).fetchone()[0]

dbs = [Db(s) for s in sizes]
for r in range(ROUNDS):
    for n in batches:
        for i in range(COMMITS):
            for d in (dbs if (r + i) % 2 == 0 else dbs[::-1]):
                d.commit_batch(n)
    for d in dbs:
        d.c.execute("PRAGMA wal_checkpoint(TRUNCATE)")

def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(p * len(xs)))]

print(f"# SQLite {sqlite3.sqlite_version}; {CONVS} conversations, {PREFILL} messages each before; {ROUNDS} rounds x {COMMITS} commits per batch size; page sizes interleaved; "
      f"long texts ({LONG_WORDS} words): {LONG:.0%} of messages")
print("| page | msgs/commit | WAL frames/msg | WAL KB/msg | frames/commit | COMMIT ms p50 / p90 / p99 / max | CPU µs/msg |")
print("|---:|---:|---:|---:|---:|---|---:|")
for n in batches:
    for d in dbs:
        s = d.stats[n]
        ms = s["commit_ms"]
        print(f"| {d.size} | {n} | {s['frames'] / s['msgs']:.2f} | {s['bytes'] / s['msgs'] / 1024:.2f} | {s['frames'] / s['commits']:.1f} | "
              f"{pct(ms, .5):.2f} / {pct(ms, .9):.2f} / {pct(ms, .99):.2f} / {max(ms):.2f} | {s['cpu'] / s['msgs'] * 1e6:.0f} |")
print("\n(depth: the deepest path of the B-tree's pages in dbstat, overflow pages counted as a level)")
print("| page | file MB | messages depth | sqlite_autoindex_messages_2 depth | ix_messages_conv_version depth | message_search_data depth |")
print("|---:|---:|---:|---:|---:|---:|")
for d in dbs:
    mb = os.path.getsize(d.path) / 1e6
    print(f"| {d.size} | {mb:.1f} | {d.depth('messages')} | {d.depth('sqlite_autoindex_messages_2')} | {d.depth('ix_messages_conv_version')} | {d.depth('message_search_data')} |")
for d in dbs:
    d.c.close()
    for suffix in ("", "-wal", "-shm"):
        if os.path.exists(d.path + suffix):
            os.remove(d.path + suffix)
