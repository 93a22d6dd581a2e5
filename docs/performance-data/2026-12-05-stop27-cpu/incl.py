import sys, re, collections
def load(f):
    incl=collections.Counter(); total=0; stack=[]
    def flush():
        nonlocal total
        if stack:
            total+=1
            for s in set(stack): incl[s]+=1
    for line in open(f, errors='replace'):
        if not line.strip():
            flush(); stack.clear(); continue
        if line[0] not in ' \t':
            flush(); stack.clear(); continue
        m=re.match(r'\s+[0-9a-f]+\s+(.*)',line)
        if m:
            s=m.group(1).strip()
            s=re.sub(r'\[Optimized\w*\]|\[QuickJitted\]|\[PreJIT\]','',s)
            s=re.sub(r'd__\d+','d__N',s)
            stack.append(s)
    flush()
    return incl,total
b,bt=load('sbase.script.txt'); m,mt=load('smain.script.txt')
print('totals',bt,mt)
pat=re.compile(sys.argv[1] if len(sys.argv)>1 else 'Parley')
keys=[k for k in set(b)|set(m) if pat.search(k)]
keys.sort(key=lambda k:-(m.get(k,0)-b.get(k,0)))
for k in keys[:50]: print(f'{m.get(k,0)-b.get(k,0):+6d} {b.get(k,0):6d} {m.get(k,0):6d} {k[:170]}')
print('...')
for k in keys[-15:]: print(f'{m.get(k,0)-b.get(k,0):+6d} {b.get(k,0):6d} {m.get(k,0):6d} {k[:170]}')
