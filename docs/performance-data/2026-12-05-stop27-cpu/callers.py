import sys, re, collections
f, target = sys.argv[1], sys.argv[2]
callers=collections.Counter(); callees=collections.Counter(); stack=[]
def flush():
    for i,s in enumerate(stack):
        if target in s:
            callers[stack[i+1][:140] if i+1<len(stack) else '-']+=1
            callees[stack[i-1][:140] if i>0 else '(self)']+=1
            break
for line in open(f, errors='replace'):
    if not line.strip() or line[0] not in ' \t':
        flush(); stack.clear(); continue
    m=re.match(r'\s+[0-9a-f]+\s+(.*)',line)
    if m: stack.append(re.sub(r'\[Optimized\w*\]','',m.group(1).strip()))
flush()
print('callers'); [print(f'{v:5d} {k}') for k,v in callers.most_common(8)]
print('callees'); [print(f'{v:5d} {k}') for k,v in callees.most_common(12)]
