#!/usr/bin/env python3
"""gcdump-census.py <dotnet-gcdump report output> [top] [type to count per]: the live heap by type (bytes = the report's
per-object size x count), largest first, and each type's bytes per instance
of the "per" type (default Parley.Core.Messaging.ConversationGrain: bytes per active conversation grain)."""
import re, collections, sys
f = sys.argv[1]; top = int(sys.argv[2]) if len(sys.argv) > 2 else 50
per = sys.argv[3] if len(sys.argv) > 3 else 'Parley.Core.Messaging.ConversationGrain'
agg = collections.Counter(); cnt = collections.Counter()
for line in open(f):
    # size, count, type (arrays end in "[]"), an optional "(Bytes > N)", then the module in brackets at the end
    m = re.match(r'\s*([\d,]+)\s+([\d,]+)\s+(.*?)\s*(\(Bytes > [^)]*\))?\s+\[[^\[\]]*\]\s*$', line)
    if not m:
        continue
    t = m.group(3).strip(); n = int(m.group(2).replace(',', '')); b = int(m.group(1).replace(',', ''))
    agg[t] += b * n
    cnt[t] += n
g = cnt.get(per, 0)
print(f'{per}: {g:,}; heap in the report {sum(agg.values()):,} B' + (f', {sum(agg.values()) / g:,.0f} B per instance' if g else ''))
print(f'{"bytes":>12} {"count":>9} {"per inst.":>9}  type')
for t, b in agg.most_common(top):
    print(f'{b:>12,} {cnt[t]:>9,} {b / g if g else 0:>9.1f}  {t[:150]}')
