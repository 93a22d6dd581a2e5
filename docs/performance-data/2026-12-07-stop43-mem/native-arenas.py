#!/usr/bin/env python3
"""native-arenas.py <pid>: the process's anonymous resident memory split into glibc's malloc arenas (the main one, [heap],
and the others: 64 MiB-aligned anonymous mappings) and the rest (the GC's regions and other anonymous mmaps), in MB."""
import sys, re
p = sys.argv[1]; cur = None; arena = 0; main = 0; other = 0
for line in open(f'/proc/{p}/smaps'):
    m = re.match(r'^([0-9a-f]+)-([0-9a-f]+) (\S+) \S+ \S+ \S+\s*(.*)$', line)
    if m:
        cur = (int(m.group(1), 16), m.group(4).strip()); continue
    if line.startswith('Rss:') and cur:
        kb = int(line.split()[1])
        if cur[1] == '[heap]': main += kb
        elif cur[1] == '':
            if cur[0] % (64 << 20) == 0: arena += kb
            else: other += kb
print(f'malloc arenas {(arena + main) / 1024:.0f} MB (main {main / 1024:.0f}), other anon {other / 1024:.0f} MB')
