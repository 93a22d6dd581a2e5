import sys, re, collections
f, target = sys.argv[1], sys.argv[2]
anc=collections.Counter(); stack=[]
def flush():
    for i,s in enumerate(stack):
        if target in s:
            for t in stack[i+1:]:
                if 'Parley' in t and 'AsyncStateMachineBox' not in t:
                    anc[t[:170]]+=1; break
            else: anc['-']+=1
            break
for line in open(f, errors='replace'):
    if not line.strip() or line[0] not in ' \t':
        flush(); stack.clear(); continue
    m=re.match(r'\s+[0-9a-f]+\s+(.*)',line)
    if m: stack.append(re.sub(r'\[Optimized\w*\]','',m.group(1).strip()))
flush()
[print(f'{v:5d} {k}') for k,v in anc.most_common(10)]
