#!/usr/bin/env python3
"""summary.py <outdir> <label>...: quiet.sh's table (stop 47, bound) from soak-short.sh's files of each label."""
import os, re, sys

out = sys.argv[1]

def val(page, name, label=None):
    total = None
    for l in open(page, errors='replace'):
        if l.startswith(name) and (len(l) == len(name) or l[len(name)] in ' {'):
            if label is None or label in l:
                total = (total or 0) + float(l.split()[-1])
    return total

print(f'{"build":<10} {"offered/s":>9} {"accepted/s":>10} {"acked":>8} {"ack p50 ms":>10} {"ack p99 ms":>10} {"peak RSS MB":>11} '
      f'{"busy node":>9} {"busy age":>9} {"busy conn":>9} {"gen busy":>8} {"retried":>8} {"timeouts":>8} {"outst. max":>10} {"lost":>6}')
for label in sys.argv[2:]:
    log = open(f'{out}/{label}.log', errors='replace').read()
    m = re.search(r'minute 1\] sent (\d+)/s .*?\| acks (\d+)/s p50 ([0-9.]+) p99 ([0-9.]+) ms .*? sent (\d+) acked (\d+) refused (\d+)(?: \(busy (\d+)\))? lost (\d+)', log)
    retried = re.search(r'minute 1\].* busy_retried (\d+)', log)
    rss = max((int(l.split()[2]) for l in open(f'{out}/{label}.rss') if len(l.split()) > 2 and l.split()[2].isdigit()), default=0)
    pages = sorted(os.listdir(f'{out}/{label}.m'))
    acc = [(int(p[:5]), val(f'{out}/{label}.m/{p}', 'parley_messages_accepted_total')) for p in pages]
    acc = [a for a in acc if a[1] is not None and a[1] > 0]
    win = [a for a in acc if acc and a[0] <= acc[0][0] + 60]
    rate = (win[-1][1] - win[0][1]) / max(1, win[-1][0] - win[0][0]) if len(win) > 1 else float('nan')
    outs = [o for o in (val(f'{out}/{label}.m/{p}', 'parley_send_outstanding') for p in pages) if o is not None]
    last = None
    for p in reversed(pages):
        if val(f'{out}/{label}.m/{p}', 'parley_messages_accepted_total') is not None:
            last = f'{out}/{label}.m/{p}'
            break
    def busy(scope):
        v = val(last, 'parley_send_busy_total', f'scope="{scope}"') if last else None
        return f'{v:.0f}' if v is not None else '-'
    t = val(last, 'parley_send_unanswered_total', 'reason="timeout"') if last else None
    g = (lambda i: m.group(i) if m and m.group(i) else '?')
    print(f'{label:<10} {g(1):>9} {rate:>10.0f} {g(6):>8} {g(3):>10} {g(4):>10} {rss / 1024:>11.0f} {busy("node"):>9} {busy("age"):>9} '
          f'{busy("connection"):>9} {(m.group(8) or "0") if m else "?":>8} {retried.group(1) if retried else "0":>8} '
          f'{(f"{t:.0f}" if t is not None else "0"):>8} {max(outs) if outs else float("nan"):>10.0f} {g(9):>6}')
print('accepted/s: the server\'s counter over the 60 s from its first accepted message; acked/ack p50/p99/lost: the generator '
      '(its minute, acks of sends in the window); busy node/age/conn: parley_send_busy_total by scope at the end; timeouts: '
      'sends answered UNAVAILABLE by the 30-s AckTimeout; gen busy: sends whose last answer was busy; retried: busy refusals '
      'the generator retried (--retry-busy)')
