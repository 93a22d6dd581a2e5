#!/usr/bin/env python3
"""mem-summary.py <out>/<label> [gcdump second]: what soak-short.sh's files say of a soak's memory (issue 17, stop 43 mem):
RSS every 30 s (<label>.rss), the GC from the /metrics pages (<label>.m/): pause share of the time and collections by
generation over the soak and after 60 s, heap and gen2 fragmentation after the last GC, committed; and from the gcdump
report (<label>.<s>.gcdump.txt) the live heap after a full blocking collection, the conversation grains in it and the
largest types per grain."""
import os, re, sys, collections
pre = sys.argv[1]; at = sys.argv[2] if len(sys.argv) > 2 else None
rss = [l.split() for l in open(pre + '.rss') if len(l.split()) == 3]
print('RSS MB by time (s): ' + '  '.join(f'{int(t)}:{int(k) / 1024:.0f}' for t, _, k in rss if int(t) % 30 == 0))
after = [int(k) / 1024 for t, _, k in rss if int(t) >= 60]
if after:
    mid = (max(after) + min(after)) / 2
    print(f'RSS after 60 s: {min(after):.0f}-{max(after):.0f} MB (spread ±{100 * (max(after) - min(after)) / 2 / mid:.1f} % of the middle), last {after[-1]:.0f} MB')
LINE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{([^}]*)\})?\s+(\S+)')
def page(p):
    d = collections.Counter()
    for line in open(p, errors='replace'):
        m = LINE.match(line)
        if m and not line.startswith('#'):
            try: d[(m.group(1), m.group(2) or '')] += float(m.group(3))
            except ValueError: pass
    return d
def g(d, n, lab=''): return sum(v for (k, l), v in d.items() if k == n and lab in l)
mdir = pre + '.m'
pages = sorted((int(f[:-4]), os.path.join(mdir, f)) for f in os.listdir(mdir) if f.endswith('.txt') and os.path.getsize(os.path.join(mdir, f)) > 1000)
if len(pages) >= 2:
    def span(a, b, name):
        (ta, pa), (tb, pb) = a, b; da, db = page(pa), page(pb)
        pause = g(db, 'dotnet_gc_pause_time_seconds_total') - g(da, 'dotnet_gc_pause_time_seconds_total')
        col = [g(db, 'dotnet_gc_collections_total', x) - g(da, 'dotnet_gc_collections_total', x) for x in ('gen0', 'gen1', 'gen2')]
        acc = g(db, 'parley_messages_accepted_total') - g(da, 'parley_messages_accepted_total')
        alloc = g(db, 'dotnet_gc_heap_total_allocated_bytes_total') - g(da, 'dotnet_gc_heap_total_allocated_bytes_total')
        print(f'{name} ({ta}-{tb} s): GC pause {pause:.1f} s = {100 * pause / max(1, tb - ta):.1f} % of the time; collections gen0/gen1/gen2 '
              f'{col[0]:.0f}/{col[1]:.0f}/{col[2]:.0f}; {acc:.0f} messages, {alloc / 1024 / max(1, acc):.2f} KB allocated per message')
    span(pages[0], pages[-1], 'whole soak')
    later = [p for p in pages if p[0] >= 60]
    if len(later) >= 2: span(later[0], later[-1], 'after 60 s')
    print(' t s | heap MB gen2 MB gen2 frag MB loh MB committed MB | grains')
    for t, p in pages:
        if t % 30 == 0 or (t, p) == pages[-1]:
            d = page(p); mb = lambda n, lab='': g(d, n, lab) / 1048576
            print(f'{t:>4} | {mb("dotnet_gc_last_collection_heap_size_bytes"):>7.0f} {mb("dotnet_gc_last_collection_heap_size_bytes", "gen2"):>7.0f} '
                  f'{mb("dotnet_gc_last_collection_heap_fragmentation_size_bytes", "gen2"):>12.0f} {mb("dotnet_gc_last_collection_heap_size_bytes", "loh"):>6.0f} '
                  f'{mb("dotnet_gc_last_collection_memory_committed_size_bytes"):>12.0f} | {g(d, "orleans_catalog_activations", "conversation"):>7.0f}')
if at and os.path.exists(f'{pre}.{at}.gcdump.txt'):
    agg = collections.Counter(); cnt = collections.Counter()
    for line in open(f'{pre}.{at}.gcdump.txt'):
        m = re.match(r'\s*([\d,]+)\s+([\d,]+)\s+(.*?)\s*(\(Bytes > [^)]*\))?\s+\[[^\[\]]*\]\s*$', line)
        if m:
            t = m.group(3).strip(); n = int(m.group(2).replace(',', '')); b = int(m.group(1).replace(',', ''))
            agg[t] += b * n; cnt[t] += n
    grains = cnt.get('Parley.Core.Messaging.ConversationGrain', 0)
    total = sum(agg.values())
    print(f'gcdump at {at} s: live heap {total / 1048576:.1f} MB, {sum(cnt.values()):,} objects, {grains:,} conversation grains'
          + (f', {total / grains:,.0f} B per grain (fixed costs included)' if grains else ''))
    for t, b in agg.most_common(12):
        print(f'  {b / 1048576:8.1f} MB {cnt[t]:>9,} {b / grains if grains else 0:>7.1f} B/grain  {t[:110]}')
