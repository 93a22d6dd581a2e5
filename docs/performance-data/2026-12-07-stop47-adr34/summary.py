#!/usr/bin/env python3
"""summary.py <label.walmap.txt>...: readmap.py --writes output grouped per message into the message's own three B-trees,
the rows derived from it (conversation row, member rows, the per-user feed index, feed_state, page 1), the search index
(FTS5 and search_state) and the rest; one line per run (issue 17, stop 44, wal; stop 47 adr34: ADR 0034's two indexes counted with the message's own)."""
import re, sys

OWN = ('messages', 'sqlite_autoindex_messages_2', 'ix_messages_conv_version', 'ix_messages_changed', 'ix_messages_anchor')
DERIVED = ('conversations', 'members', 'ix_members_user_feed', 'feed_state', 'sqlite_schema')
cols = ['messages', 'sqlite_autoindex_messages_2', 'ix_messages_conv_version', 'ix_messages_changed', 'ix_messages_anchor', 'conversations', 'members', 'ix_members_user_feed']
print('| run | msgs/commit | frames/msg | own B-trees (leaves + inner) | derived rows | FTS5 | other | '
      + ' | '.join(c.replace('sqlite_autoindex_messages_2', 'dedup idx').replace('ix_messages_conv_version', 'version idx').replace('ix_messages_changed', 'changed idx').replace('ix_messages_anchor', 'anchor idx') for c in cols) + ' |')
print('|---|' + '---:|' * (6 + len(cols)))
for path in sys.argv[1:]:
    text = open(path).read()
    head = re.search(r"writer's WAL frames: (\d+) in the window, (\d+) commits, ([\d.]+) frames and ([\d.]+) messages per commit; ([\d.]+) frames per message", text)
    if not head:
        continue
    groups = {'own': 0.0, 'derived': 0.0, 'fts': 0.0, 'other': 0.0}
    leaf = {}
    part = text.split("writer's WAL frames")[1].split('B-tree leaves')[0]
    for m in re.finditer(r'^  (\S+)( \((?:internal|overflow)\))?\s+([\d.]+)\s+[\d.]+ %', part, re.M):
        name, inner, v = m.group(1), m.group(2), float(m.group(3))
        g = 'own' if name in OWN or name.startswith('sqlite_autoindex_messages') else 'derived' if name in DERIVED else 'fts' if name.startswith(('message_search', 'search_state')) else 'other'
        groups[g] += v
        if not inner:
            leaf['sqlite_autoindex_messages_2' if name.startswith('sqlite_autoindex_messages') else name] = v
    label = path.split('/')[-1].replace('.walmap.txt', '')
    print(f"| {label} | {float(head.group(4)):.1f} | {float(head.group(5)):.2f} | {groups['own']:.2f} | {groups['derived']:.2f} | {groups['fts']:.2f} | {groups['other']:.2f} | "
          + ' | '.join(f"{leaf.get(c, 0):.2f}" for c in cols) + ' |')
