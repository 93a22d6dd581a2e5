# callees.py <script.txt> <frame regex> [depth]: for stacks containing a frame matching regex (outermost match),
# the inclusive samples of each callee path up to depth frames below it.
import sys, re, collections
sys.path.insert(0, '/work/wt/edge/benchmarks/scripts')
import importlib.util
spec = importlib.util.spec_from_file_location('fold', '/work/wt/edge/benchmarks/scripts/fold.py')
src = open('/work/wt/edge/benchmarks/scripts/fold.py').read().split('top=int(sys.argv[-1])')[0]
ns = {}; exec(src, ns)
stacks = ns['load'](sys.argv[1]); rx = re.compile(sys.argv[2]); depth = int(sys.argv[3]) if len(sys.argv) > 3 else 1
c = collections.Counter(); tot = 0
for s in stacks:
    idx = [i for i, f in enumerate(s) if rx.search(f)]
    if not idx: continue
    i = max(idx); tot += 1
    path = tuple(s[max(0, i - depth):i][::-1])
    c[' > '.join(path) if path else '(self)'] += 1
print(f'{tot} samples of {len(stacks)} ({100*tot/len(stacks):.1f}%) under {sys.argv[2]}')
for k, v in c.most_common(40): print(f'{v:6d} {100*v/len(stacks):5.1f}%  {k[:220]}')
