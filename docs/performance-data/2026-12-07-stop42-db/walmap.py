import sys, struct, sqlite3, collections
# walmap.py <db> : frames of the WAL's current generation by B-tree (dbstat of a read snapshot), frames per commit
db = sys.argv[1]; wal = db + '-wal'
data = open(wal, 'rb').read()
magic, ver, psz, ckseq, s1, s2 = struct.unpack('>IIIIII', data[:24])
frames = []; commits = 0; off = 32
while off + 24 + psz <= len(data):
    pg, csz, fs1, fs2 = struct.unpack('>IIII', data[off:off+16])
    if (fs1, fs2) != (s1, s2): break
    frames.append(pg); commits += csz != 0; off += 24 + psz
con = sqlite3.connect(f'file:{db}?mode=ro', uri=True)
owner = dict(con.execute("select pageno, name from dbstat"))
kinds = dict(con.execute("select pageno, pagetype from dbstat"))
by = collections.Counter(); byk = collections.Counter(); distinct = collections.defaultdict(set)
for pg in frames:
    n = owner.get(pg, '?free/new'); by[n] += 1; distinct[n].add(pg); byk[kinds.get(pg, '?')] += 1
print(f"WAL generation: {len(frames)} frames, {commits} commits, {len(frames)/max(commits,1):.1f} frames/commit, {len(set(frames))} distinct pages; page types {dict(byk)}")
for n, c in by.most_common(25):
    print(f"  {n:40s} {c:7d} frames {100*c/len(frames):5.1f} %  {len(distinct[n]):7d} distinct  {c/max(commits,1):6.2f}/commit")
tot = dict(con.execute("select name, count(*) from dbstat group by name"))
print("pages by btree (whole db):", sorted(tot.items(), key=lambda kv: -kv[1])[:12])
