import re, collections, sys
tr, fds = sys.argv[1], sys.argv[2]
names = {}
for l in open(fds):
    m = re.search(r' (\d+) -> (.*)$', l)
    if m: names[int(m.group(1))] = m.group(2).split('/')[-1]
c = collections.Counter(); b = collections.Counter()
for l in open(tr):
    m = re.search(r'sys_enter_(\w+): fd: (0x[0-9a-f]+|\d+)(?:, buf: \S+, count: (0x[0-9a-f]+|\d+))?', l)
    if not m: continue
    ev = m.group(1); fd = int(m.group(2), 0)
    nm = names.get(fd, '?')
    if 'parley.db' not in nm: 
        if ev in ('fdatasync','fsync'): pass
        else: continue
    th = 'ckpt' if 'parley-sqlite' in l else 'pool'
    k = (ev, fd, nm, th); c[k] += 1; b[k] += int(m.group(3), 0) if m.group(3) else 0
for k, v in sorted(c.items()): print(k, v, b[k]//1024, 'KB')
