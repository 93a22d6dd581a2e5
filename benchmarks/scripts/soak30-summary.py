#!/usr/bin/env python3
"""soak30-summary.py <out>/<label> [--settle N] [--rate R]: issue 17's soak targets from one soak-short.sh run (soak30.sh).

Per minute (the generator's soak lines, its /metrics reads after each minute, and soak-short.sh's /proc samples): delivered
msg/s, send->receive p50/p99/p99.9, the server's CPU %, RSS (the generator's mean of the minute), the GC heap after the last
collection and the memory the GC committed, GC pause % of the minute, conversation grains active and deactivated in the
minute, SQLite's KB read and written per accepted message (/proc/<pid>/io: the server's own reads and writes, nearly all
SQLite's), and the database's size (<label>.rss's 4th column, KB). Then each target met or missed:
  - kept up: every minute delivered >= 99 % of the rate, nothing lost;
  - p99 over the whole soak <= 20 ms, p99.9 <= 50 ms (the generator's histogram of every message);
  - RSS flat within +-10 % after the first --settle (5) minutes: every minute's RSS within 10 % of their mean;
  - idle conversations deactivated: the grains active after the settle minutes stay below 1.25 x their median
    (they would grow with every conversation opened if idle ones stayed);
  - <= 1 KB retained per idle conversation: the growth of the GC heap, and of RSS, from the end of the settle minutes to
    the last minute, divided by the conversations opened in between (<label>.db: the store's count at the end, and the
    count at the settle minute estimated from the messages accepted, for random pairs among U users
    C(n) = P * (1 - exp(-n / P)), P = U(U-1)/2). A flat heap over millions of conversations passes by itself; a
    growing one is charged to them.
"""
import math, os, re, sys

args = sys.argv[1:]
settle, rate = 5, None
if '--settle' in args:
    i = args.index('--settle'); settle = int(args[i + 1]); del args[i:i + 2]
if '--rate' in args:
    i = args.index('--rate'); rate = float(args[i + 1]); del args[i:i + 2]
prefix = args[0]
log = open(prefix + '.log', errors='replace').read().splitlines()
num = r'([-0-9.]+|NaN|∞)'

def f(x):
    try:
        return float(x)
    except ValueError:
        return float('nan')

mins, gauges, summary = {}, {}, None
for line in log:
    m = re.search(r'soak r\d+ minute (\d+)\] sent (\d+)/s deliv (\d+)/s .*lat p50 ' + num + ' p90 ' + num + ' p99 ' + num +
                  ' p99.9 ' + num + ' max ' + num + r' ms .*srv cpu (\d+)% rss (\d+) MB.* lost (\d+)', line)
    if m:
        k = int(m.group(1))
        mins[k] = dict(sent=f(m.group(2)), deliv=f(m.group(3)), p50=f(m.group(4)), p99=f(m.group(6)), p999=f(m.group(7)),
                       max=f(m.group(8)), cpu=f(m.group(9)), rss=f(m.group(10)), lost=int(m.group(11)))
        b = re.search(r'refused \d+ \(busy (\d+)\)', line)  # ADR 0031: refused as busy (not lost); absent when none
        mins[k]['busy'] = int(b.group(1)) if b else 0
        continue
    m = re.search(r'soak r\d+ minute (\d+)\] conversation grains ' + num + r' \(created ' + num + ', deactivated ' + num +
                  r'\).*gc heap ' + num + r' MB .*committed ' + num + r' MB \| gc pause ' + num + r' s.*\| rss ' + num + ' MB', line)
    if m:
        gauges[int(m.group(1))] = dict(grains=f(m.group(2)), created=f(m.group(3)), deact=f(m.group(4)), heap=f(m.group(5)),
                                       committed=f(m.group(6)), pause=f(m.group(7)), rss_read=f(m.group(8)))
        continue
    m = re.search(r'soak r\d+\] (\d+) min at (\d+)/s: p50 ' + num + ' p99 ' + num + ' p99.9 ' + num + ' max ' + num + r' ms.*lost (\d+)', line)
    if m:
        summary = dict(minutes=int(m.group(1)), rate=f(m.group(2)), p50=f(m.group(3)), p99=f(m.group(4)), p999=f(m.group(5)),
                       max=f(m.group(6)), lost=int(m.group(7)))

if not mins:
    print(f'{prefix}.log: no soak minute lines (did the generator run? its last lines:)')
    print('\n'.join(log[-15:]))
    sys.exit(1)
if rate is None:
    rate = summary['rate'] if summary else max(v['sent'] for v in mins.values())

# /proc/<pid>/io and the accepted counter at each sample (soak-short.sh's <label>.io and <label>.m pages), and the
# database's size (<label>.rss: t, clock, RSS KB, data directory KB).
samples = []
if os.path.exists(prefix + '.io'):
    for line in open(prefix + '.io'):
        p = line.split()
        if len(p) < 4:
            continue
        t = int(p[0]); io = dict(zip(p[2::2], p[3::2]))
        page = f'{prefix}.m/{t:05d}.txt'
        acc = None
        if os.path.exists(page):
            for l in open(page, errors='replace'):
                if l.startswith('parley_messages_accepted_total'):
                    acc = f(l.split()[-1])
        if acc is not None and 'rchar:' in io:
            samples.append((t, acc, int(io['rchar:']), int(io['wchar:'])))
dbkb, anon = {}, {}
if os.path.exists(prefix + '.rss'):
    for line in open(prefix + '.rss'):
        p = line.split()
        if len(p) >= 4 and p[3].isdigit():
            dbkb[int(p[0])] = int(p[3])
        if len(p) >= 6 and p[4].isdigit() and p[5].isdigit():
            anon[int(p[0])] = (int(p[4]), int(p[5]))
t0 = samples[0][0] if samples else 0

def at(t):  # the last sample at or before t seconds after the first
    best = None
    for s in samples:
        if s[0] - t0 <= t:
            best = s
    return best

def db_at(t):
    ks = [k for k in dbkb if k - t0 <= t]
    return dbkb[max(ks)] / 1048576 if ks else float('nan')

def anon_at(t, i):  # RssAnon (i 0) or RssFile (i 1) in MB at the last sample at or before t
    ks = [k for k in anon if k - t0 <= t]
    return anon[max(ks)][i] / 1024 if ks else float('nan')

print(f'soak of {prefix}: {len(mins)} minutes at {rate:.0f} msg/s (settle: the first {settle} minutes)')
print(f'{"min":>3} {"deliv/s":>7} {"p50":>6} {"p99":>8} {"p99.9":>8} {"cpu%":>4} {"rss MB":>6} {"heap":>5} {"commit":>6} {"gc%":>5}'
      f' {"grains":>7} {"-deact":>7} {"act/msg":>7} {"KBr/msg":>7} {"KBw/msg":>7} {"db GB":>6} {"anon":>5} {"file":>5} {"busy/s":>6}')
prev_pause, prev_deact, prev_created = 0.0, 0.0, 0.0
for k in sorted(mins):
    v, g = mins[k], gauges.get(k, {})
    pause = g.get('pause', float('nan')); deact = g.get('deact', float('nan')); created = g.get('created', float('nan'))
    a, b = at((k - 1) * 60), at(k * 60)
    kr = kw = float('nan')
    # Conversation activations Orleans created in the minute (the generator's /metrics read after it) per message delivered
    # in it (the generator's count of the same minute; one delivery per 1:1 message): about 1 or less with random pairs,
    # more means grains activated again (stop 46). Noisy while the server is behind (deliveries lag activations).
    acc_min = v['deliv'] * 60
    act = (created - prev_created) / acc_min if acc_min > 0 else float('nan')
    if a and b and b[1] > a[1]:
        kr = (b[2] - a[2]) / (b[1] - a[1]) / 1024; kw = (b[3] - a[3]) / (b[1] - a[1]) / 1024
    print(f'{k:>3} {v["deliv"]:>7.0f} {v["p50"]:>6.1f} {v["p99"]:>8.1f} {v["p999"]:>8.1f} {v["cpu"]:>4.0f} {v["rss"]:>6.0f}'
          f' {g.get("heap", float("nan")):>5.0f} {g.get("committed", float("nan")):>6.0f} {100 * (pause - prev_pause) / 60:>5.1f}'
          f' {g.get("grains", float("nan")):>7.0f} {deact - prev_deact:>7.0f} {act:>7.2f} {kr:>7.1f} {kw:>7.1f} {db_at(k * 60):>6.2f}'
          f' {anon_at(k * 60, 0):>5.0f} {anon_at(k * 60, 1):>5.0f} {v["busy"] / 60:>6.0f}')
    prev_pause, prev_deact = pause, deact
    if not math.isnan(created):
        prev_created = created

print()
ok = lambda c: 'MET   ' if c else 'MISSED'
verdicts = []
lost = sum(v['lost'] for v in mins.values())
busy = sum(v['busy'] for v in mins.values())
slow = [k for k, v in mins.items() if v['deliv'] < 0.99 * rate]
verdicts.append(f'{ok(not slow and lost == 0)} kept up: {len(mins) - len(slow)} of {len(mins)} minutes delivered >= 99 % of {rate:.0f}/s'
                + (f' (behind in minutes {",".join(map(str, slow[:12]))}{"..." if len(slow) > 12 else ""})' if slow else '') + f'; lost {lost}' + (f'; refused as busy {busy} (ADR 0031: not lost; the server was at its bound)' if busy else ''))
if summary:
    verdicts.append(f'{ok(summary["p99"] <= 20)} p99 over the soak <= 20 ms: {summary["p99"]:.2f} ms (p50 {summary["p50"]:.2f}, max {summary["max"]:.1f})')
    verdicts.append(f'{ok(summary["p999"] <= 50)} p99.9 over the soak <= 50 ms: {summary["p999"]:.2f} ms')
else:
    verdicts.append('MISSED no summary line from the generator (the soak did not finish)')
late = [k for k in sorted(mins) if k > settle]
if len(late) >= 2:
    rss = [mins[k]['rss'] for k in late]; mean = sum(rss) / len(rss)
    dev = max(abs(x - mean) for x in rss) / mean * 100
    verdicts.append(f'{ok(dev <= 10)} RSS flat within +-10 % after minute {settle}: {min(rss):.0f}-{max(rss):.0f} MB, mean {mean:.0f},'
                    f' largest deviation {dev:.1f} % (first minute {mins[min(mins)]["rss"]:.0f} MB)')
    an = [anon_at(k * 60, 0) for k in late]
    if an and not any(math.isnan(x) for x in an):
        am = sum(an) / len(an)
        verdicts.append(f'(info) anonymous RSS (RssAnon: the heap, native allocations, stacks; not the mapped file) after minute {settle}:'
                        f' {min(an):.0f}-{max(an):.0f} MB, largest deviation {max(abs(x - am) for x in an) / am * 100:.1f} %;'
                        f' file-backed RSS at the end {anon_at(10 ** 9, 1):.0f} MB')
    gr = sorted(gauges[k]['grains'] for k in late if k in gauges and not math.isnan(gauges[k]['grains']))
    if gr:
        med = gr[len(gr) // 2]; last = gauges[max(k for k in late if k in gauges)]['grains']
        verdicts.append(f'{ok(gr[-1] <= 1.25 * med)} idle conversations deactivated: grains active after minute {settle} {gr[0]:.0f}-{gr[-1]:.0f}'
                        f' (median {med:.0f}, last {last:.0f}), deactivations {gauges[max(gauges)]["deact"]:.0f} in all')
    dbf = prefix + '.db'
    conv_end = users = None
    if os.path.exists(dbf):
        for line in open(dbf):
            m = re.match(r'conversations (\d+)', line)
            if m: conv_end = int(m.group(1))
            m = re.match(r'users (\d+)', line)
            if m: users = int(m.group(1))
    s, e = settle, max(late)
    if conv_end and users and s in gauges and e in gauges and samples:
        pairs = users * (users - 1) / 2
        acc_s = at(s * 60)[1]
        conv_s = pairs * (1 - math.exp(-acc_s / pairs))
        opened = conv_end - conv_s
        dheap = (gauges[e]['heap'] - gauges[s]['heap']) * 1048576
        drss = (mins[e]['rss'] - mins[s]['rss']) * 1048576
        per = max(dheap, drss, 0) / opened if opened > 0 else float('nan')
        verdicts.append(f'{ok(per <= 1024)} <= 1 KB retained per idle conversation: {opened:.0f} conversations opened after minute {s}'
                        f' ({conv_end} at the end), GC heap {dheap / 1048576:+.0f} MB, RSS {drss / 1048576:+.0f} MB: {per:.0f} B each at most')
    else:
        verdicts.append('?      <= 1 KB retained per idle conversation: not computed (no <label>.db count or too few minutes)')
    kr = []
    for k in (settle + 1, max(late)):
        a, b = at((k - 1) * 60), at(k * 60)
        if a and b and b[1] > a[1]:
            kr.append((k, (b[2] - a[2]) / (b[1] - a[1]) / 1024))
    if len(kr) == 2:
        verdicts.append(f'(info) SQLite KB read per message, minute {kr[0][0]} -> {kr[1][0]}: {kr[0][1]:.1f} -> {kr[1][1]:.1f};'
                        f' database at the end {db_at(10 ** 9):.2f} GB')
# Activations per accepted message over the whole soak (info: not one of issue 17's targets; stop 46).
created_end = max((g['created'] for g in gauges.values() if not math.isnan(g['created'])), default=float('nan'))
acc_end = samples[-1][1] if samples else sum(v['deliv'] * 60 for v in mins.values())
if acc_end and not math.isnan(created_end):
    verdicts.append(f'(info) conversation activations per accepted message over the soak: {created_end / acc_end:.3f}'
                    f' ({created_end:.0f} created for {acc_end:.0f} accepted; random pairs open at most one per message,'
                    f' more means grains activated again)')
else:
    verdicts.append('(info) conversation activations per accepted message: not computed (no /metrics reads)')
print('\n'.join(verdicts))
