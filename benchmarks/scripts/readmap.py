#!/usr/bin/env python3
"""readmap.py <trace.txt> <fds.txt> <db> [messages]: what SQLite's reads during a soak are, per connection and B-tree
(issue 17, stop 44). <trace.txt>: `perf script -F tid,comm,time,event,trace` of the server's `syscalls:sys_enter_pread64`
and a `probe_libc:soakpw` uprobe on libc's pwrite64 that fetches the first 4 bytes written (the page number of a WAL frame
header; soak-short.sh READS_AT sets both up); <fds.txt>: `ls -l /proc/<pid>/fd` taken with it; <db>: the live database
(`dbstat` of a read snapshot names each page's B-tree). A connection is the pair of one parley.db descriptor and the
-wal descriptor opened next: the writer is the one that appends WAL frames, the background checkpointer the one its
thread (parley-sqlite-checkpoint, "parley-sqlite-c" in perf) reads through, every other pair a pooled reader. A read of parley.db names its page
by offset; a read of the -wal names the page by the frame header the writer wrote last at that offset in the trace
(frames the trace did not see written are "wal?"). [messages]: accepted messages in the trace's window (per-message
columns). --writes (stop 44, wal): also the writer's WAL frames in the window by B-tree (and page type when not a leaf), per
message and per commit, the distinct pages per commit, and how many of a commit's frames were one page written again (needs
the uprobe's csz field, the commit frame's database size: perfprof.sh WALMAP=1 sets it up as `walpw`)."""
import collections, re, sqlite3, sys

writes_too = '--writes' in sys.argv
flush_ms = [float(a.split('=', 1)[1]) for a in sys.argv if a.startswith('--flush-ms=')]
argv = [a for a in sys.argv if a != '--writes' and not a.startswith('--flush-ms=')]
trace, fdfile, db = argv[1], argv[2], argv[3]
messages = float(argv[4]) if len(argv) > 4 else None
names = {}
for l in open(fdfile):
    m = re.search(r' (\d+) -> (.*)$', l)
    if m:
        names[int(m.group(1))] = m.group(2).strip()
dbfds = sorted(fd for fd, n in names.items() if n.endswith('/parley.db'))
walfds = sorted(fd for fd, n in names.items() if n.endswith('/parley.db-wal'))
pair = {}  # wal fd -> db fd (the db descriptor opened before it)
for w in walfds:
    below = [d for d in dbfds if d < w]
    if below:
        pair[w] = below[-1]
conn_of = {d: d for d in dbfds}
conn_of.update({w: d for w, d in pair.items()})

HDR = 24
# The file's page size (stop 45: 1,024 to 4,096 by PAGE_SIZE or Parley:Storage:Sqlite:PageSize); a main-file read's page is pos // PAGE + 1.
PAGE = sqlite3.connect(f'file:{db}?mode=ro', uri=True).execute('PRAGMA page_size').fetchone()[0]
frame_page = {}  # wal offset of a frame's page -> page number (the latest header write seen)
reads = []  # (conn, file, page or None, comm)
writer_conn = None
events = 0
rx_pw = re.compile(r'(?:soakpw|walpw): \(\w+\) fd=(-?\d+) pg=(\d+) count=(\d+) pos=(-?\d+)(?: csz=(\d+))?')
written = []  # the writer's WAL frames in trace order: (page, commit frame?)
rx_pr = re.compile(r'sys_enter_pread64: fd: (0x[0-9a-f]+|\d+), buf: \S+, count: (0x[0-9a-f]+|\d+), pos: (0x[0-9a-f]+|\d+)')
first = last = None
for l in open(trace):
    m = rx_pw.search(l)
    tm = re.search(r' (\d+\.\d+):', l)
    if tm:
        t = float(tm.group(1)); first = t if first is None else first; last = t
    if m:
        fd, pg, count, pos = int(m.group(1)), int(m.group(2)), int(m.group(3)), int(m.group(4))
        if fd in pair and count == HDR:
            writer_conn = conn_of[fd]
            frame_page[pos + HDR] = int.from_bytes(pg.to_bytes(4, 'little'), 'big')
            csz = m.group(5)
            written.append((frame_page[pos + HDR], csz is not None and int(csz) != 0, t if tm else None))
        continue
    m = rx_pr.search(l)
    if not m:
        continue
    events += 1
    fd, count, pos = (int(x, 0) for x in m.groups())
    n = names.get(fd, '')
    comm = l.split()[0]
    if n.endswith('/parley.db'):
        reads.append((conn_of.get(fd), 'db', pos // PAGE + 1, comm, count))
    elif n.endswith('/parley.db-wal'):
        reads.append((conn_of.get(fd), 'wal', frame_page.get(pos), comm, count))

con = sqlite3.connect(f'file:{db}?mode=ro', uri=True)
owner = dict(con.execute("select pageno, name from dbstat"))
kind = dict(con.execute("select pageno, pagetype from dbstat"))
ckpt_conns = {c for c, f, p, comm, n in reads if comm.startswith('parley-sqlite')}  # the checkpointer's thread (comm is cut at 15 characters)

def role(c):
    if c == writer_conn:
        return 'writer'
    if c in ckpt_conns:
        return 'checkpointer'
    return 'readers'

span = (last - first) if first is not None and last is not None and last > first else None
per = messages if messages else None
print(f"trace: {events} pread64 in {span or 0:.1f} s; {len(frame_page)} WAL frame headers seen; "
      f"{len(set(conn_of.values()))} connections ({len({c for c, *_ in reads if role(c) == 'readers'})} readers read)"
      + (f"; {messages:.0f} messages" if messages else ""))
unit = "per message" if per else "per second"
div = per if per else (span or 1)
by = collections.Counter(); kb = collections.Counter(); tree = collections.defaultdict(collections.Counter)
for c, f, p, comm, n in reads:
    r = role(c)
    by[(r, f)] += 1; kb[(r, f)] += n
    if p is None:
        t = 'wal?'
    else:
        t = owner.get(p, '?new/free') + ('' if kind.get(p) in (None, 'leaf') else ' (' + kind.get(p) + ')')
    tree[r][(f, t)] += 1
print(f"\n{'who':13s} {'file':4s} {'calls ' + unit:>20s} {'KB ' + unit:>16s}")
for (r, f), v in sorted(by.items(), key=lambda kv: -kb[kv[0]]):
    print(f"{r:13s} {f:4s} {v / div:20.2f} {kb[(r, f)] / 1024 / div:16.2f}")
for r in sorted(tree, key=lambda r: -sum(tree[r].values())):
    tot = sum(tree[r].values())
    print(f"\n{r}: {tot / div:.2f} reads {unit}, by file and B-tree (page type when not a leaf)")
    for (f, t), v in tree[r].most_common(18):
        print(f"  {f:4s} {t:52s} {v / div:8.2f}  {100 * v / tot:5.1f} %")

if writes_too:
    commits = sum(1 for _, c, _ in written if c)
    tot = len(written)
    print(f"\nwriter's WAL frames: {tot} in the window, {commits} commits"
          + (f", {tot / commits:.1f} frames and {messages / commits:.1f} messages per commit" if commits and messages else "")
          + (f"; {tot / div:.2f} frames {unit}" if tot else ""))
    # Per commit: distinct pages (a page written twice in one commit is one frame in SQLite's WAL unless it was spilled; the
    # count tells whether that happened), then the frames by B-tree.
    groups, cur = [], []
    for p, c, _ in written:
        cur.append(p)
        if c:
            groups.append(cur); cur = []
    rep = sum(len(g) - len(set(g)) for g in groups)
    if groups:
        print(f"  frames in whole commits: {sum(len(g) for g in groups)}; a page written twice within one commit: {rep}")
    # Across commits: how often the page a frame writes was already written by one of the previous N commits (the leaves
    # a checkpoint copies once per generation; here: pages shared between commits close together).
    seen, again = {}, 0
    for i, g in enumerate(groups):
        for p in set(g):
            if p in seen and i - seen[p] <= 10:
                again += 1
            seen[p] = i
    if groups:
        print(f"  frames whose page one of the 10 commits before also wrote: {again} ({100 * again / max(sum(len(set(g)) for g in groups), 1):.1f} %)")
    wt = collections.Counter(); dist = collections.defaultdict(set)
    for p, _, _ in written:
        t = owner.get(p, '?new/free') + ('' if kind.get(p) in (None, 'leaf') else ' (' + kind.get(p) + ')')
        wt[t] += 1; dist[t].add(p)
    print(f"  {'B-tree (page type when not a leaf)':52s} {'frames ' + unit:>18s} {'share':>7s} {'per commit':>11s} {'distinct pages':>15s}")
    for t, v in wt.most_common(30):
        print(f"  {t:52s} {v / div:18.3f} {100 * v / max(tot, 1):6.1f} % {v / max(commits, 1):11.2f} {len(dist[t]):15d}")
    # --flush-ms=N (ADR 0028): the same frames if the derived rows' B-trees (conversations, members, ix_members_user_feed,
    # leaves and inner pages) were written once per N ms window instead of once per commit: their distinct pages per window.
    derived = ('conversations', 'members', 'ix_members_user_feed')
    for ms in flush_ms:
        t0 = next((w[2] for w in written if w[2] is not None), 0)
        kept = sum(1 for p, _, _ in written if owner.get(p) not in derived)
        windows = collections.defaultdict(set)
        for p, _, tw in written:
            if owner.get(p) in derived:
                windows[int(((tw or t0) - t0) * 1000 // ms)].add(p)
        flushed = sum(len(v) for v in windows.values())
        now = tot - kept
        print(f"\n  flush every {ms:g} ms (ADR 0028, simulated on this trace): derived rows' frames {now / div:.3f} -> {flushed / div:.3f} {unit}; "
              f"all frames {tot / div:.2f} -> {(kept + flushed) / div:.2f} {unit} ({100 * (kept + flushed - tot) / max(tot, 1):+.1f} %)")
    # What a leaf of the most written B-trees holds (dbstat of the live file): rows per leaf, bytes per row, fill.
    print(f"\n  {'B-tree leaves (dbstat)':40s} {'leaves':>8s} {'rows/leaf':>10s} {'B/row':>7s} {'fill':>6s} {'overflow pages':>15s}")
    for name in [t for t, _ in wt.most_common(8) if ' (' not in t and not t.startswith('?')]:
        r = con.execute("select count(*), sum(ncell), sum(payload), sum(pgsize - unused), sum(pgsize) from dbstat where name = ? and pagetype = 'leaf'", (name,)).fetchone()
        ov = con.execute("select count(*) from dbstat where name = ? and pagetype = 'overflow'", (name,)).fetchone()[0]
        if r and r[0]:
            print(f"  {name:40s} {r[0]:8d} {r[1] / r[0]:10.1f} {r[2] / max(r[1], 1):7.0f} {100 * r[3] / r[4]:5.0f}% {ov:15d}")
