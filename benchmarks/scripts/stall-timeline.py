#!/usr/bin/env python3
"""stall-timeline.py <out>/<label> [server pid] [slow ms] : what the slow messages of one stall-timeline.sh run coincide
with (issue 17, stop 43). Everything is on CLOCK_MONOTONIC: the generator's timeline (<label>.tl/timeline-*.txt: sent_ns
ack_us delivery_us), the system-wide perf trace (<label>.sys.txt: every fsync/fdatasync with its descriptor, the disk's
requests, the kernel's writeback), the server's pwrite64 calls (<label>.srv.txt) and /proc/meminfo (<label>.meminfo).

Prints: the server's syncs by file (the WAL's: the commits'; parley.db's: the checkpoints') with their durations; the
slow messages (delivery over `slow ms`, default 40) grouped into episodes and, per episode, the longest WAL sync inside it
and what ran at the same time (a sync of parley.db, another process's sync, the disk's bytes and flushes, the writeback,
Dirty); then, over the run, how often each of those coincides with a long WAL sync against how often it is there at all
(the base rate), so a coincidence can be told from a constant."""
import bisect, collections, glob, os, re, sys

base = sys.argv[1]
spid = int(sys.argv[2]) if len(sys.argv) > 2 and sys.argv[2].isdigit() else None
slow_ms = float(sys.argv[3]) if len(sys.argv) > 3 else 40.0
LONG_SYNC_MS = 20.0

LINE = re.compile(r"^\s*(.+?)\s+(\d+)/(\d+)\s+(?:\[(\d+)\]\s+)?([\d.]+):\s+(\S+):\s*(.*)$")


def fds(path):
    """fd -> file name (basename) from `ls -l /proc/<pid>/fd`."""
    m = {}
    if os.path.exists(path):
        for line in open(path):
            parts = line.split(" -> ")
            if len(parts) == 2:
                fd = parts[0].split()[-1]
                if fd.isdigit():
                    m[int(fd)] = os.path.basename(parts[1].strip())
    return m


fdmap = fds(base + ".fd0")
fdmap.update({k: v for k, v in fds(base + ".fd1").items() if k not in fdmap})


def kind(name):
    if name is None:
        return "?"
    if name.endswith("-wal"):
        return "wal"
    if name.endswith(".db"):
        return "db"
    return name


syncs = []       # (start, end, pid, tid, comm, fd, call)
open_sync = {}
disk = []        # (issue, complete, rwbs, bytes)
pending_rq = collections.defaultdict(list)
writeback = []   # (time, reason, nr_pages)
for line in open(base + ".sys.txt", errors="replace"):
    m = LINE.match(line)
    if not m:
        continue
    comm, pid, tid, _, t, ev, rest = m.groups()
    pid, tid, t = int(pid), int(tid), float(t)
    if ev.startswith("syscalls:sys_enter_f"):
        fd = int(rest.split("fd:")[1].strip(), 16)
        open_sync[tid] = (t, pid, comm.strip(), fd, ev.split("enter_")[1])
    elif ev.startswith("syscalls:sys_exit_f"):
        s = open_sync.pop(tid, None)
        if s:
            syncs.append((s[0], t, s[1], tid, s[2], s[3], s[4]))
    elif ev == "block:block_rq_issue":
        p = rest.split()
        # dev rwbs bytes () sector + nsec ...
        try:
            rwbs, nbytes = p[1], int(p[2])
            key = (p[0], p[4], p[6]) if p[3] == "()" else (p[0], p[3], p[5])
        except (IndexError, ValueError):
            continue
        pending_rq[key].append((t, rwbs, nbytes))
    elif ev == "block:block_rq_complete":
        p = rest.split()
        try:
            key = (p[0], p[3], p[5]) if p[2] == "()" else (p[0], p[2], p[4])
        except IndexError:
            continue
        q = pending_rq.get(key)
        if q:
            t0, rwbs, nbytes = q.pop(0)
            disk.append((t0, t, rwbs, nbytes))
    elif ev == "writeback:writeback_start":
        r = re.search(r"reason=(\S+)", rest)
        n = re.search(r"nr_pages=(\d+)", rest)
        writeback.append((t, r.group(1) if r else "?", int(n.group(1)) if n else 0))

if spid is None:
    # the process whose syncs name the WAL most
    c = collections.Counter(s[2] for s in syncs if kind(fdmap.get(s[5])) == "wal")
    spid = c.most_common(1)[0][0] if c else -1

srv = [s for s in syncs if s[2] == spid]
other = [s for s in syncs if s[2] != spid]
wal = sorted((s for s in srv if kind(fdmap.get(s[5])) == "wal"), key=lambda s: s[0])
dbs = sorted((s for s in srv if kind(fdmap.get(s[5])) == "db"), key=lambda s: s[0])

# the generator's timeline
msgs = []
for f in sorted(glob.glob(base + ".tl/timeline-*.txt")):
    for line in open(f):
        a = line.split()
        if len(a) >= 3:
            msgs.append((int(a[0]) / 1e9, int(a[1]) / 1e3, int(a[2]) / 1e3))
msgs.sort()
if not msgs:
    sys.exit("no timeline")
t_lo, t_hi = msgs[0][0], msgs[-1][0]

mem = []
if os.path.exists(base + ".meminfo"):
    for line in open(base + ".meminfo"):
        a = line.split()
        if len(a) >= 3:
            mem.append((int(a[0]) / 1e9, int(a[1]), int(a[2])) + tuple(int(x) for x in a[3:7]))
mem_t = [m[0] for m in mem]


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(p * len(xs)))] if xs else float("nan")


def dist(xs):
    return (f"n {len(xs)} p50 {pct(xs, .5):.2f} p90 {pct(xs, .9):.2f} p99 {pct(xs, .99):.2f} max {max(xs) if xs else 0:.1f} ms"
            if xs else "n 0")


def in_window(items, a, b):
    return [s for s in items if s[0] < b and s[1] > a]


def dirty_at(t):
    i = bisect.bisect_left(mem_t, t)
    return mem[min(i, len(mem) - 1)] if mem else (t, 0, 0)


win = lambda s: t_lo - 1 <= s[0] <= t_hi + 1
print(f"== {base}: server pid {spid}; {len(msgs)} messages in {t_hi - t_lo:.1f} s; slow = delivery > {slow_ms:.0f} ms")
lat = [m[2] for m in msgs if m[2] >= 0]
print(f"delivery: {dist(lat)}; p99.9 {pct(lat, .999):.1f} ms; slow {sum(1 for x in lat if x > slow_ms)} ({100 * sum(1 for x in lat if x > slow_ms) / max(1, len(lat)):.2f} %)")
by = collections.defaultdict(list)
for s in srv:
    if win(s):
        by[(s[6], kind(fdmap.get(s[5])), s[4])].append((s[1] - s[0]) * 1e3)
print("server syncs in the window, by call, file and thread:")
for k, v in sorted(by.items(), key=lambda kv: -len(kv[1])):
    print(f"  {k[0]} {k[1]} by {k[2]}: {dist(v)}, {sum(v):.0f} ms in all")
oth = collections.defaultdict(list)
for s in other:
    if win(s):
        oth[s[4]].append((s[1] - s[0]) * 1e3)
print("other processes' syncs in the window: " + "; ".join(f"{k} {dist(v)}" for k, v in sorted(oth.items(), key=lambda kv: -sum(kv[1]))[:6]))
dw = [d for d in disk if t_lo <= d[0] <= t_hi]
fl = [(d[1] - d[0]) * 1e3 for d in dw if "F" in d[2]]
wr = [d for d in dw if "W" in d[2]]
print(f"disk: {len(wr)} writes, {sum(d[3] for d in wr) / 1e6:.1f} MB, {len(wr) / (t_hi - t_lo):.0f}/s; write time {dist([(d[1] - d[0]) * 1e3 for d in wr])}; flushes {dist(fl)}")
print(f"writeback starts in the window: {collections.Counter(w[1] for w in writeback if t_lo <= w[0] <= t_hi)}")
if mem:
    dm = [m[1] for m in mem if t_lo <= m[0] <= t_hi]
    print(f"Dirty KB: p50 {pct(dm, .5)} p99 {pct(dm, .99)} max {max(dm) if dm else 0}")

# episodes: slow messages whose windows overlap
slow = [m for m in msgs if m[2] > slow_ms]
episodes = []
for m in slow:
    a, b = m[0], m[0] + m[2] / 1e3
    if episodes and a <= episodes[-1][1]:
        e = episodes[-1]
        e[1] = max(e[1], b)
        e[2].append(m)
    else:
        episodes.append([a, b, [m]])
# the server's pwrite64 calls (the checkpoint's copy into parley.db, the writer's WAL appends), for the episodes
pw_by = collections.defaultdict(list)  # (file kind, thread comm) -> [time]
if os.path.exists(base + ".srv.txt"):
    for line in open(base + ".srv.txt", errors="replace"):
        m = LINE.match(line)
        if m and m.group(6) == "syscalls:sys_enter_pwrite64":
            fdm = re.search(r"fd: (0x[0-9a-f]+)", m.group(7))
            if fdm:
                pw_by[(kind(fdmap.get(int(fdm.group(1), 16))), m.group(1).strip())].append(float(m.group(5)))
for v in pw_by.values():
    v.sort()


def count_in(ts, a, b):
    return bisect.bisect_left(ts, b) - bisect.bisect_left(ts, a)


# the server's GC pauses (GCTRACE=1): gc-pauses --utc lines, put on CLOCK_MONOTONIC with the offset read at the run's start
gcs = []
if os.path.exists(base + ".gc.txt") and os.path.exists(base + ".clock"):
    off = int(open(base + ".clock").read().split()[0]) / 1e9
    for line in open(base + ".gc.txt"):
        m = re.match(r"utc ([\d.]+)\s+[\d.]+ s pause\s+([\d.]+) ms.*MB (gen\d)", line)
        if m:
            t = float(m.group(1)) - off
            gcs.append((t, t + float(m.group(2)) / 1e3, m.group(3)))


def gc_in(a, b):
    return [g for g in gcs if g[0] < b and g[1] > a]


wal_end = [s[1] for s in wal]
print(f"\n{len(episodes)} episodes of slow messages: start offset s, length ms, messages, worst ms | the longest server WAL sync "
      f"in it, the longest gap between two WAL syncs' ends in it | parley.db syncs overlapping that WAL sync | other "
      f"processes' syncs overlapping it | disk: MB and requests issued during it, flushes | Dirty KB at its start | "
      f"the checkpointer's / the writer's pwrite64 to parley.db in the episode")
classes = collections.Counter()
for a, b, ms in episodes:
    w_in = in_window(wal, a, b)
    ends = [t for t in wal_end if a - 0.2 <= t <= b]
    gap = max((y - x for x, y in zip(ends, ends[1:])), default=0) * 1e3
    longest = max(w_in, key=lambda s: s[1] - s[0]) if w_in else None
    ck = sum(count_in(v, a, b) for k, v in pw_by.items() if k[0] == "db" and "sqlite" in k[1])
    wk = sum(count_in(v, a, b) for k, v in pw_by.items() if k[0] == "db" and "sqlite" not in k[1])
    if longest:
        la, lb = longest[0], longest[1]
        ls = 1e3 * (lb - la)
        d_ov = in_window(dbs, la, lb)
        o_ov = in_window(other, la, lb)
        iss = [d for d in disk if la <= d[0] < lb]
        bytes_w = sum(d[3] for d in iss if "W" in d[2]) / 1e6
        nfl = sum(1 for d in iss if "F" in d[2])
        desc = (f"WAL {ls:5.1f} ms at +{1e3 * (la - a):.0f}, gap {gap:5.1f} | db: "
                + (", ".join(f"{1e3 * (s[1] - s[0]):.0f} ms by {s[4]} (began {1e3 * (s[0] - la):+.0f} ms)" for s in d_ov) or "none")
                + " | other: " + (", ".join(f"{s[4]} {1e3 * (s[1] - s[0]):.0f} ms" for s in o_ov[:3]) or "none")
                + f" | {bytes_w:.1f} MB {len(iss)} rq {nfl} fl | Dirty {dirty_at(la)[1]} | pw db {ck}/{wk}")
        classes["WAL sync >= 20 ms" if ls >= LONG_SYNC_MS else ("writer gap >= 20 ms" if gap >= LONG_SYNC_MS else "neither")] += len(ms)
    else:
        desc = f"no WAL sync in it, gap {gap:.1f} | pw db {ck}/{wk}"
        classes["no WAL sync"] += len(ms)
    gi = gc_in(a - 0.2, b)
    if gi:
        desc += " | GC " + ", ".join(f"{g[2]} {1e3 * (g[1] - g[0]):.0f} ms at {1e3 * (g[0] - a):+.0f}" for g in gi)
    print(f"  +{a - t_lo:7.3f} {1e3 * (b - a):6.0f} ms {len(ms):4d} msgs worst {max(x[2] for x in ms):6.1f} | {desc}")
print("slow messages by what their episode holds: " + ", ".join(f"{k} {v}" for k, v in classes.most_common()))

# the worst message's wait, commit by commit: each WAL sync of the writer that ended while it waited, with the frames the
# writer appended to the WAL since the sync before (pwrite64 calls / 2: a frame header and its page), the time from the
# sync before to this one's start (the statements and the WAL writes, or the writer's other work) and the sync itself
wal_pw = sorted(t for k, v in pw_by.items() if k[0] == "wal" and "sqlite" not in k[1] for t in v)
db_pw_w = sorted(t for k, v in pw_by.items() if k[0] == "db" and "sqlite" not in k[1] for t in v)
print("\nper episode, its worst message's wait, commit by commit (frames appended, ms before the sync, sync ms; "
      "+dbN: the writer's own pwrite64 to parley.db, a catch-up checkpoint):")
for a, b, ms in episodes:
    w = max(ms, key=lambda x: x[2])
    sa, sb = w[0], w[0] + w[2] / 1e3
    i = bisect.bisect_left(wal_end, sa)
    prev = wal_end[i - 1] if i > 0 else sa
    parts = []
    while i < len(wal) and wal[i][1] <= sb + 0.002:
        s0, s1 = wal[i][0], wal[i][1]
        fr = count_in(wal_pw, prev, s0) // 2
        dbw = count_in(db_pw_w, prev, s0)
        parts.append(f"{fr}f {1e3 * (s0 - prev):.0f}+{1e3 * (s1 - s0):.0f}" + (f" +db{dbw}" if dbw else ""))
        prev = s1
        i += 1
    print(f"  +{sa - t_lo:7.3f} {w[2]:6.1f} ms: " + ", ".join(parts))

# base rates: how much of the window each condition covers, against how often it overlaps a long WAL sync
long_wal = [s for s in wal if win(s) and (s[1] - s[0]) * 1e3 >= LONG_SYNC_MS]
all_wal = [s for s in wal if win(s)]


def covered(intervals):
    iv = sorted((max(a, t_lo), min(b, t_hi)) for a, b in intervals if b > t_lo and a < t_hi)
    tot, cur = 0.0, None
    for a, b in iv:
        if cur is None or a > cur[1]:
            if cur:
                tot += cur[1] - cur[0]
            cur = [a, b]
        else:
            cur[1] = max(cur[1], b)
    if cur:
        tot += cur[1] - cur[0]
    return tot / (t_hi - t_lo)


def share(pred, items):
    return sum(1 for s in items if pred(s)) / max(1, len(items))


db_iv = [(s[0], s[1]) for s in dbs]
oth_iv = [(s[0], s[1]) for s in other]
print(f"\nWAL syncs >= {LONG_SYNC_MS:.0f} ms: {len(long_wal)} of {len(all_wal)}")
print(f"  overlapping a parley.db sync: {100 * share(lambda s: in_window(dbs, s[0], s[1]), long_wal):.0f} % of the long ones, "
      f"{100 * share(lambda s: in_window(dbs, s[0], s[1]), all_wal):.0f} % of all; parley.db syncs cover {100 * covered(db_iv):.1f} % of the time")
print(f"  overlapping another process's sync: {100 * share(lambda s: in_window(other, s[0], s[1]), long_wal):.0f} % of the long ones, "
      f"{100 * share(lambda s: in_window(other, s[0], s[1]), all_wal):.0f} % of all; other syncs cover {100 * covered(oth_iv):.1f} % of the time")
all_block = sorted(d[0] for d in disk) + sorted(d[1] for d in disk)
all_block.sort()


def silence(a, b):
    i, j = bisect.bisect_left(all_block, a), bisect.bisect_right(all_block, b)
    ts = [a] + all_block[i:j] + [b]
    return max((y - x for x, y in zip(ts, ts[1:])), default=0) * 1e3


def reclaim(a, b):
    if not mem or len(mem[0]) < 7:
        return None
    m0, m1 = dirty_at(a - 0.02), dirty_at(b + 0.02)
    return tuple(m1[k] - m0[k] for k in (3, 4, 5))


# the WAL sync's own requests (issued by its thread) and the flush that ended it: a flush request is dispatched by the block
# layer's kblockd worker (kworker/N:1H) of the CPU the sync ran on, so a sync can wait for that worker to get the CPU
own_rq = collections.defaultdict(list)  # tid -> issue times
flush_rq = []  # (issue, comm)
for line in open(base + ".sys.txt", errors="replace"):
    m = LINE.match(line)
    if m and m.group(6) == "block:block_rq_issue":
        if int(m.group(2)) == spid:
            own_rq[int(m.group(3))].append(float(m.group(5)))
        if " FF " in m.group(7):
            flush_rq.append((float(m.group(5)), m.group(1).strip()))
flush_t = [f[0] for f in flush_rq]
print("long WAL syncs: start offset s, ms | its thread's last disk request issued at +ms | the last flush issued in it at +ms, by "
      "| the longest time in it when no disk request was issued or completed by anyone | direct reclaim stalls / compaction "
      "stalls / pages scanned by direct reclaim around it")
waits = collections.Counter()
for s in long_wal:
    r = reclaim(s[0], s[1])
    mine = [t for t in own_rq.get(s[3], []) if s[0] <= t <= s[1]]
    last_own = max(mine, default=s[0])
    i, j = bisect.bisect_left(flush_t, s[0]), bisect.bisect_right(flush_t, s[1])
    last_flush = flush_rq[j - 1] if j > i else None
    if last_flush and last_flush[0] - last_own >= 0.5 * (s[1] - s[0]):
        waits["waiting for the flush to be dispatched"] += 1
    elif last_own - s[0] >= 0.5 * (s[1] - s[0]):
        waits["before its own last request (waiting for page writeback or the inode buffer, or for the CPU)"] += 1
    else:
        waits["other"] += 1
    print(f"  +{s[0] - t_lo:7.3f} {1e3 * (s[1] - s[0]):6.1f} ms | own +{1e3 * (last_own - s[0]):.1f} | "
          + (f"flush +{1e3 * (last_flush[0] - s[0]):.1f} by {last_flush[1]}" if last_flush else "no flush")
          + f" | block silence {silence(s[0], s[1]):6.1f} ms" + (f" | reclaim {r[0]}/{r[1]}/{r[2]}" if r else ""))
print("long WAL syncs, where most of their time went: " + ", ".join(f"{k} {v}" for k, v in waits.most_common()))
slow_with_long = sum(1 for m in slow if in_window(long_wal, m[0], m[0] + m[2] / 1e3))
print(f"slow messages whose window holds a WAL sync >= {LONG_SYNC_MS:.0f} ms: {slow_with_long} of {len(slow)}")

print("server pwrite64 calls by file and thread: " + "; ".join(f"{k[0]} by {k[1]}: {len(v)}" for k, v in sorted(pw_by.items(), key=lambda kv: -len(kv[1]))))
