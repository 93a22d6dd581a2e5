#!/usr/bin/env python3
"""fts-append.py <parley.db> <rows> <automerge> [batch=500] [merge=0|1]: append <rows> rows to a built search-server store's FTS5 index
(message_search) the way the server's indexer writes them (one INSERT per batch of 500, its own transaction), with FTS5's
automerge set to <automerge> first; with merge=0 no background merge, so the index's tail is what the indexer alone leaves
(the worst case for a search); with merge=1 the server's background merge under load as SqliteMessageStore.SearchMerge.cs
runs it (steps of SearchMergePages 64 paid by SearchMergePagesPerRow 0.1 per row indexed, a balance of 4 steps that starts
full; a full merge only when the small segments hold half the largest; else a merge of one level, usermerge 2, above 4
segments or while one is under way; the 1 % time share not modelled). Rows go to the reader's 100 conversations (a tenth, filler words
only: the reader's marker counts stay 0, 10, 10000, 10) and to 9,900 other conversations (the markers zqxmany and zqxelse
among the filler, so the searched terms have doclists in the new segments too). Prints the segment count before and after
and the indexer's CPU per row. SQLite's FTS5 format is the same for Python's 3.40 and the server's 3.53."""
import random, sqlite3, struct, sys, time

FILLER = ["meeting", "budget", "lunch", "report", "明天开会", "预算讨论", "travel", "invoice", "deadline", "review"]

def key(conv):
    h = 14695981039346656037
    for b in conv.encode():
        h = ((h ^ b) * 1099511628211) & 0xFFFFFFFFFFFFFFFF
    return "".join(chr(0xF0000 + ((h >> (16 * i)) & 0xFFFF) % 0xFFFE) for i in range(3))

def direct(a, b):
    a, b = sorted([a, b])
    return f"si_{a}_{b}"

def structure(db):
    blob = db.execute("SELECT block FROM message_search_data WHERE id = 10").fetchone()[0]
    # structure record: varint cookie, nLevel, nSegment, nWrite(8 bytes? varint) then per level nMerge, nSeg, segs...
    pos = 0
    def varint():
        nonlocal pos
        v = 0
        for i in range(9):
            c = blob[pos]; pos += 1
            if i == 8:
                return (v << 8) | c
            v = (v << 7) | (c & 0x7F)
            if c < 0x80:
                return v
        return v
    pos = 4  # cookie is 4 bytes big-endian
    levels = varint(); nseg = varint(); varint()  # nWriteCounter
    per = []
    for _ in range(levels):
        merge = varint(); n = varint(); pages = []
        for _ in range(n):
            varint(); first = varint(); last = varint(); pages.append(last - first + 1)
        per.append((merge, pages))
    return nseg, per

def segments(db):
    nseg, per = structure(db)
    return nseg, [len(p) for _, p in per]

def merge_step(db, pages, usermerge_set):
    nseg, per = structure(db)
    allpages = [x for _, p in per for x in p]
    in_progress = any(m > 0 for m, _ in per)
    if nseg <= 1 and not in_progress:
        return False
    total, largest = sum(allpages), max(allpages)
    if nseg > 1 and (total - largest) * 2 >= largest:
        arg = -pages
    elif in_progress or nseg > 4:
        arg = pages
    else:
        return False
    if not usermerge_set:
        db.execute("INSERT INTO message_search(message_search, rank) VALUES ('usermerge', 2)")
    before = db.total_changes
    db.execute("INSERT INTO message_search(message_search, rank) VALUES ('merge', ?)", (arg,))
    return db.total_changes - before >= 2

def main():
    path, rows, automerge = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    batch = int(sys.argv[4]) if len(sys.argv) > 4 else 500
    merge = len(sys.argv) > 5 and sys.argv[5] == "1"
    balance, steps, mcpu = 4 * 64.0, 0, 0.0
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL"); db.execute("PRAGMA synchronous=NORMAL")
    print("segments before", segments(db))
    db.execute("INSERT INTO message_search(message_search, rank) VALUES('automerge', ?)", (automerge,))
    rid = db.execute("SELECT max(rowid) FROM message_search").fetchone()[0]
    rnd = random.Random(46)
    seqs = {}
    cpu = 0.0
    done = 0
    while done < rows:
        n = min(batch, rows - done)
        data = []
        for _ in range(n):
            rid += 1
            if rnd.random() < 0.1:
                c = rnd.randrange(100)
                conv = direct("reader-0001", f"peer-{c:04d}")
                words = [rnd.choice(FILLER) for _ in range(8)]
            else:
                c = rnd.randrange(9900)
                conv = direct(f"user-{2*c:05d}", f"user-{2*c+1:05d}")
                words = [rnd.choice(FILLER) for _ in range(8)]
                if rnd.random() < 1 / 90: words[3] = "zqxelse"
                if rnd.random() < 1 / 90: words[5] = "zqxmany"
            seqs[conv] = seqs.get(conv, 1_000_000) + 1
            data.append((rid, " ".join(words), key(conv), conv, seqs[conv]))
        t = time.process_time()
        db.execute("BEGIN")
        db.executemany("INSERT INTO message_search(rowid, body, conv, conversation_id, seq) VALUES (?, ?, ?, ?, ?)", data)
        db.execute("COMMIT")
        cpu += time.process_time() - t
        done += n
        if merge:
            balance = min(balance + n * 0.1, 4 * 64.0)
            t = time.process_time()
            while balance >= 64:
                db.execute("BEGIN")
                worked = merge_step(db, 64, steps > 0)
                db.execute("COMMIT")
                if not worked:
                    break
                balance -= 64; steps += 1
            mcpu += time.process_time() - t
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    print(f"appended {rows} rows with automerge={automerge} in batches of {batch}: {cpu / rows * 1e6:.1f} us CPU per row (indexer)"
          + (f"; background merge: {steps} steps, {mcpu / rows * 1e6:.1f} us CPU per row" if merge else "; no background merge"))
    print("segments after", segments(db))

main()
