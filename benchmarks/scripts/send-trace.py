#!/usr/bin/env python3
"""send-trace.py <server's send trace file> <timeline dir or file> [slow ms] : where each message's time went, hop by hop, from
the generator's send to its receiver's read (issue 17, stop 44). The server's trace (Parley:Gateway:SendTraceFile) has every
send's stamps (frame read, handled, grain turn, submitted to the commit pipeline, batch taken, durable, fanned out, grain
resumed, answer returned, ack written) with its client message id and version, every live frame's queue and socket-write
times with its version, and the thread pool's queue every millisecond; the generator's --timeline-out has every measured
message's send time, ack and first delivery latency and client message id. All on CLOCK_MONOTONIC (ns). The message's
delivery is its version's live frame (one receiver connection per 1:1 message in the generator's chat scenario).

Prints: per segment, its p50/p90/p99/max over all joined messages and over the slow ones (delivery > slow ms, default 40),
and the share of the slow messages' time each took; the slowest messages segment by segment; the thread pool's queue
(pending work items) and thread count over the run and inside the slow messages' windows; how many slow messages had a GC
inside their window."""
import bisect
import glob
import os
import sys

trace, tl = sys.argv[1], sys.argv[2]
slow_ms = float(sys.argv[3]) if len(sys.argv) > 3 else 40.0

sends, deliveries, pool = {}, {}, []
for line in open(trace):
    a = line.split()
    if not a or a[0] == '#':
        continue
    if a[0] == 's':
        sends[a[1][1:]] = (int(a[2]),) + tuple(int(x) for x in a[3:13])
    elif a[0] == 'd':
        v = int(a[1])
        if v not in deliveries:  # the first frame of the version (one per 1:1 message here)
            deliveries[v] = (int(a[2]), int(a[3]))
    elif a[0] == 'p':
        pool.append(tuple(int(x) for x in a[1:8]))
pool.sort()
pool_t = [p[0] for p in pool]

files = sorted(glob.glob(os.path.join(tl, "timeline-*.txt"))) if os.path.isdir(tl) else [tl]
msgs = []
for f in files:
    for line in open(f):
        a = line.split()
        if len(a) >= 4 and int(a[2]) >= 0:
            # the 5th column (stop 44): when the generator's send returned (its frame in the socket), -1 or absent: unknown
            msgs.append((int(a[0]), int(a[1]), int(a[2]), a[3], int(a[4]) if len(a) >= 5 else -1))

# segments (name, from, to) over the stamps: S sent, G the generator's send returned (the frame in the socket; S when the
# timeline has no such column), R read, H handled, T turn, B submitted, K taken, U durable, F fanned
# out, M resumed, N returned, W ack written, A ack read by the generator, Q delivery queued, X delivery written, D delivery
# read by the generator
SEG = [
    ("gen send -> its send returned", 'S', 'G'),
    ("send returned -> frame read", 'G', 'R'),
    ("read -> handled", 'R', 'H'),
    ("call (handled -> turn)", 'H', 'T'),
    ("turn (-> submitted)", 'T', 'B'),
    ("batch (-> taken)", 'B', 'K'),
    ("commit (-> durable)", 'K', 'U'),
    ("durable -> delivery queued", 'U', 'Q'),
    ("outbox (queued -> written)", 'Q', 'X'),
    ("written -> gen read", 'X', 'D'),
]
ACKSEG = [
    ("dispatch (durable -> fanned out)", 'U', 'F'),
    ("resume (-> grain resumed)", 'F', 'M'),
    ("return (-> gateway)", 'M', 'N'),
    ("ack write (-> written)", 'N', 'W'),
    ("ack written -> gen read", 'W', 'A'),
]

rows, missing = [], 0
for sent, ack_us, del_us, mid, wr_us in msgs:
    s = sends.get(mid)
    if s is None:
        missing += 1
        continue
    v, R, H, T, B, K, U, F, M, N, W = s
    d = deliveries.get(v)
    if d is None or 0 in (R, H, T, B, K, U, F, M, N, W):
        missing += 1
        continue
    st = dict(S=sent, G=sent + max(wr_us, 0) * 1000, R=R, H=H, T=T, B=B, K=K, U=U, F=F, M=M, N=N, W=W, Q=d[0], X=d[1],
              A=sent + ack_us * 1000, D=sent + del_us * 1000)
    rows.append(st)

if not rows:
    sys.exit(f"no message joined ({len(msgs)} in the timeline, {len(sends)} sends and {len(deliveries)} deliveries in the trace)")


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(len(xs) * p / 100))] if xs else float('nan')


def ms(st, a, b):
    return (st[b] - st[a]) / 1e6


slow = [r for r in rows if ms(r, 'S', 'D') > slow_ms]
print(f"{len(rows)} messages joined ({missing} not: outside the trace's rings or a hop not stamped); "
      f"{len(slow)} slow (delivery > {slow_ms:g} ms, {100 * len(slow) / len(rows):.2f} %)")
tot = [ms(r, 'S', 'D') for r in rows]
print(f"delivery p50 {pct(tot, 50):.2f} p99 {pct(tot, 99):.2f} p99.9 {pct(tot, 99.9):.2f} max {max(tot):.2f} ms; "
      f"ack p50 {pct([ms(r, 'S', 'A') for r in rows], 50):.2f} p99 {pct([ms(r, 'S', 'A') for r in rows], 99):.2f} ms")
print()
print("| segment (delivery path) | all: p50 / p90 / p99 / max ms | slow: p50 / p90 / max ms | share of the slow messages' time |")
print("|---|---|---|---:|")
slow_total = sum(ms(r, 'S', 'D') for r in slow) or 1
if all(m[4] < 0 for m in msgs):
    print("(the timeline has no send-returned column: 'send returned -> frame read' holds the generator's send too)")
for name, a, b in SEG:
    xs = [ms(r, a, b) for r in rows]
    ys = [ms(r, a, b) for r in slow]
    share = sum(ys) / slow_total * 100
    print(f"| {name} | {pct(xs, 50):.2f} / {pct(xs, 90):.2f} / {pct(xs, 99):.2f} / {max(xs):.1f} | "
          + (f"{pct(ys, 50):.2f} / {pct(ys, 90):.2f} / {max(ys):.1f}" if ys else "-") + f" | {share:.1f} % |")
print()
print("| segment (ack path, after durable) | all: p50 / p90 / p99 / max ms | slow: p50 / p90 / max ms |")
print("|---|---|---|")
for name, a, b in ACKSEG:
    xs = [ms(r, a, b) for r in rows]
    ys = [ms(r, a, b) for r in slow]
    print(f"| {name} | {pct(xs, 50):.2f} / {pct(xs, 90):.2f} / {pct(xs, 99):.2f} / {max(xs):.1f} | "
          + (f"{pct(ys, 50):.2f} / {pct(ys, 90):.2f} / {max(ys):.1f}" if ys else "-") + " |")

# which segment was each slow message's longest
print()
by = {}
for r in slow:
    name = max(SEG, key=lambda s: ms(r, s[1], s[2]))[0]
    by[name] = by.get(name, 0) + 1
print("slow messages by their longest segment: " + ", ".join(f"{k} {v}" for k, v in sorted(by.items(), key=lambda x: -x[1])))


def pool_in(t0, t1):
    i, j = bisect.bisect_left(pool_t, t0), bisect.bisect_right(pool_t, t1)
    return pool[max(0, i - 1):j + 1]


if pool:
    t0, t1 = rows[0]['S'], rows[-1]['D']
    inrun = pool_in(t0, t1)
    pend = [p[1] for p in inrun]
    print(f"thread pool over the run ({len(inrun)} samples): pending p50 {pct(pend, 50)} p99 {pct(pend, 99)} max {max(pend)}; "
          f"threads {min(p[2] for p in inrun)}-{max(p[2] for p in inrun)}; "
          f"GCs gen0 {inrun[-1][4] - inrun[0][4]} gen1 {inrun[-1][5] - inrun[0][5]} gen2 {inrun[-1][6] - inrun[0][6]}")
    # the largest pending count in each slow message's window, and whether a GC ran in it
    mx, gc = [], 0
    for r in slow:
        w = pool_in(r['S'], r['D'])
        if w:
            mx.append(max(p[1] for p in w))
            if w[-1][4] != w[0][4] or w[-1][5] != w[0][5]:
                gc += 1
    if mx:
        print(f"slow messages' windows: max pending p50 {pct(mx, 50)} p90 {pct(mx, 90)} max {max(mx)}; a GC inside {gc} of {len(slow)}")
    # sampler gaps (the sampler thread sleeps 1 ms: a gap of tens of ms is the process not running, e.g. a GC suspension)
    gaps = sorted(((pool_t[i + 1] - pool_t[i]) / 1e6, pool_t[i]) for i in range(len(pool_t) - 1) if t0 <= pool_t[i] <= t1)
    big = [g for g in gaps if g[0] >= 10]
    print(f"sampler gaps >= 10 ms in the run: {len(big)}, longest " + ", ".join(f"{g:.1f}" for g, _ in gaps[-5:][::-1]) + " ms")

# The p99 message (stop 47, tail): the messages whose delivery is within the p98.5-p99.5 band, their mean time per segment
# and its share of their time, and how many had a GC inside their window: what a p99 message's time is made of.
band_lo, band_hi = pct(tot, 98.5), pct(tot, 99.5)
band = [r for r in rows if band_lo <= ms(r, 'S', 'D') <= band_hi]
if band:
    mean_total = sum(ms(r, 'S', 'D') for r in band) / len(band)
    print()
    print(f"the p99 message: {len(band)} messages with delivery in p98.5-p99.5 ({band_lo:.1f}-{band_hi:.1f} ms, mean {mean_total:.1f} ms)")
    print("| segment | mean ms | share |")
    print("|---|---:|---:|")
    for name, a, b in SEG:
        m = sum(ms(r, a, b) for r in band) / len(band)
        print(f"| {name} | {m:.2f} | {100 * m / mean_total:.1f} % |")
    if pool:
        gcb = 0
        for r in band:
            w = pool_in(r['S'], r['D'])
            if w and (w[-1][4] != w[0][4] or w[-1][5] != w[0][5]):
                gcb += 1
        print(f"a GC (gen0 or gen1 count moved) inside the window of {gcb} of {len(band)}")

print()
print("slowest messages (ms per segment, delivery path; then the ack path's dispatch/resume/return/ack write):")
print("  t(s)    total  " + " ".join(f"{n.split()[0][:7]:>7}" for n, _, _ in SEG) + " |  disp  resum   ret   ackw")
base_t = rows[0]['S']
for r in sorted(slow, key=lambda r: -ms(r, 'S', 'D'))[:25]:
    print(f"  {(r['S'] - base_t) / 1e9:6.2f} {ms(r, 'S', 'D'):7.1f}  " + " ".join(f"{ms(r, a, b):7.1f}" for _, a, b in SEG)
          + " | " + " ".join(f"{ms(r, a, b):5.1f}" for _, a, b in ACKSEG[:4]))

# Gaps in the server's frame reads (every send's "read" stamp, all connections together): a gap of tens of ms at thousands
# of sends per second means no connection's frame was read meanwhile (the frames waited in the sockets), while the
# commits (the "durable" stamps) and the live frames' writes in the same gap say whether the rest of the server ran.
reads = sorted(s[1] for s in sends.values() if s[1])
durables = sorted(s[6] for s in sends.values() if s[6])
writes = sorted(d[1] for d in deliveries.values())
gen_sent = sorted(m[0] for m in msgs)
t0, t1 = rows[0]['S'], rows[-1]['D']
gaps = [(reads[i + 1] - reads[i], reads[i]) for i in range(len(reads) - 1) if t0 <= reads[i] <= t1]
gaps.sort(reverse=True)
big = [g for g in gaps if g[0] >= 20e6]
print()
print(f"gaps between two frame reads (any connection) >= 20 ms in the window: {len(big)}, {sum(g for g, _ in big) / 1e6:.0f} ms in all")
for g, at in sorted(big, key=lambda x: x[1])[:30]:
    c = bisect.bisect_left(durables, at + g) - bisect.bisect_right(durables, at)
    w = bisect.bisect_left(writes, at + g) - bisect.bisect_right(writes, at)
    n = bisect.bisect_left(gen_sent, at + g) - bisect.bisect_right(gen_sent, at)
    line = f"  +{(at - t0) / 1e9:7.3f} s  {g / 1e6:6.1f} ms: the generator sent {n}; {c} sends became durable, {w} live frames written in it"
    if pool:
        ps = pool_in(at, at + g)
        if ps:
            line += f"; pool pending max {max(p[1] for p in ps)}, threads {max(p[2] for p in ps)}, work items done {ps[-1][3] - ps[0][3]}, gen0/1 +{ps[-1][4] - ps[0][4]}/+{ps[-1][5] - ps[0][5]}"
            sg = max(((ps[i + 1][0] - ps[i][0]) / 1e6 for i in range(len(ps) - 1)), default=0)
            line += f", longest sampler gap {sg:.1f} ms"
    print(line)
