#!/usr/bin/env python3
"""callers.py <perf script output> <frame substring> [ancestor]: the direct callers and callees of the first frame that
matches, per sample; with `ancestor`, the nearest Parley frame above it instead (async state-machine boxes skipped)."""
import sys, re, collections
f, target = sys.argv[1], sys.argv[2]
ancestor = len(sys.argv) > 3 and sys.argv[3] == 'ancestor'
callers = collections.Counter(); callees = collections.Counter(); stack = []
def flush():
    for i, s in enumerate(stack):
        if target in s:
            if ancestor:
                above = [t for t in stack[i + 1:] if 'Parley' in t and 'AsyncStateMachineBox' not in t]
                callers[above[0][:170] if above else '-'] += 1
            else:
                callers[stack[i + 1][:140] if i + 1 < len(stack) else '-'] += 1
                callees[stack[i - 1][:140] if i > 0 else '(self)'] += 1
            break
for line in open(f, errors='replace'):
    if not line.strip() or line[0] not in ' \t':
        flush(); stack.clear(); continue
    m = re.match(r'\s+[0-9a-f]+\s+(.*)', line)
    if m: stack.append(re.sub(r'\[Optimized\w*\]', '', m.group(1).strip()))
flush()
print('nearest Parley ancestor' if ancestor else 'callers'); [print(f'{v:5d} {k}') for k, v in callers.most_common(10)]
if not ancestor:
    print('callees'); [print(f'{v:5d} {k}') for k, v in callees.most_common(12)]
