import gzip, collections, re, sys
def load(p):
    selfc=collections.Counter(); dso=collections.Counter(); total=0; stack=[]
    def flush():
        nonlocal total
        if not stack: return
        total+=1; leaf=stack[0]; selfc[leaf[0]]+=1; dso[leaf[1]]+=1
    for line in gzip.open(p,'rt',errors='replace'):
        if not line.strip(): flush(); stack=[]; continue
        if line[0] in '\t ':
            parts=line.strip().split(' ',1)
            if len(parts)<2: continue
            m=re.match(r'(.*) \((.*)\)$',parts[1])
            sym,d=(m.group(1),m.group(2)) if m else (parts[1],'?')
            sym=re.sub(r'\+0x[0-9a-f]+$','',sym); stack.append((sym,d.split('/')[-1]))
    flush(); return selfc,dso,total
a=load(sys.argv[1]); b=load(sys.argv[2])
# normalise per message: samples per sec at fixed 300 msg/s => raw samples comparable (same 60 s window, same rate)
print('totals', a[2], b[2])
print('DSO: a b diff (raw samples)')
for k in set(a[1])|set(b[1]):
    if max(a[1][k],b[1][k])>20: print(f'{a[1][k]:6d} {b[1][k]:6d} {b[1][k]-a[1][k]:+6d} {k}')
print('symbols by diff')
diff=collections.Counter()
for k in set(a[0])|set(b[0]): diff[k]=b[0][k]-a[0][k]
for k,v in diff.most_common(40): print(f'{a[0][k]:6d} {b[0][k]:6d} {v:+6d} {k[:110]}')
print('...most negative')
for k,v in diff.most_common()[-12:]: print(f'{a[0][k]:6d} {b[0][k]:6d} {v:+6d} {k[:110]}')
