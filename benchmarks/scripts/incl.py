# incl.py <a.script.txt> [<b.script.txt>] [regex] [--counts]: inclusive samples per frame (perf script output with call
# graphs), only frames matching regex (default: all). With two files, the difference b - a, both scaled to per-sample
# shares of their own totals; with --counts, the difference in raw samples instead (frames keep their +0x offsets; regex
# default Parley), the 50 largest and the 15 smallest.
import sys, re, collections
counts = '--counts' in sys.argv
args = [a for a in sys.argv[1:] if a != '--counts']
def load(f):
    incl = collections.Counter(); total = 0; stack = []
    def flush():
        nonlocal total
        if stack:
            total += 1
            for s in set(stack): incl[s] += 1
    for line in open(f, errors='replace'):
        if not line.strip() or line[0] not in ' \t':
            flush(); stack.clear(); continue
        m = re.match(r'\s+[0-9a-f]+\s+(.*)', line)
        if m:
            s = m.group(1).strip()
            s = re.sub(r'\[Optimized\w*\]|\[QuickJitted\]|\[PreJIT\]', '', s)
            s = re.sub(r'd__\d+', 'd__N', s)
            if not counts:
                s = re.sub(r'\+0x[0-9a-f]+', '', s)
                s = re.sub(r'\(/tmp/perf-\d+\.map\)', '(perf map)', s)
            stack.append(s)
    flush()
    return incl, total
files = [a for a in args if a.endswith('.txt')]
pat = re.compile(([a for a in args if not a.endswith('.txt')] or ['Parley' if counts else '.'])[0])
if len(files) == 1:
    c, t = load(files[0]); print('samples', t)
    for k, v in c.most_common():
        if pat.search(k): print(f'{v:6d} {100*v/t:5.1f}% {k[:180]}')
elif counts:
    b, bt = load(files[0]); m, mt = load(files[1]); print('totals', bt, mt)
    keys = [k for k in set(b) | set(m) if pat.search(k)]
    keys.sort(key=lambda k: -(m.get(k, 0) - b.get(k, 0)))
    for k in keys[:50]: print(f'{m.get(k,0)-b.get(k,0):+6d} {b.get(k,0):6d} {m.get(k,0):6d} {k[:170]}')
    print('...')
    for k in keys[-15:]: print(f'{m.get(k,0)-b.get(k,0):+6d} {b.get(k,0):6d} {m.get(k,0):6d} {k[:170]}')
else:
    a, at = load(files[0]); b, bt = load(files[1]); print('samples', at, bt)
    keys = [k for k in set(a) | set(b) if pat.search(k)]
    keys.sort(key=lambda k: -(b.get(k, 0) / bt - a.get(k, 0) / at))
    for k in keys[:60]: print(f'{100*(b.get(k,0)/bt - a.get(k,0)/at):+6.1f}% {100*a.get(k,0)/at:5.1f}% {100*b.get(k,0)/bt:5.1f}% {k[:170]}')
