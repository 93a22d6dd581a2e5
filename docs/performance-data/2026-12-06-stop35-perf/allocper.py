import sys,glob,re,os
d=sys.argv[1]; step=int(sys.argv[2]) if len(sys.argv)>2 else 6
files=sorted(glob.glob(d+'/*.txt'))
def val(txt,name):
    m=re.search(r'^'+re.escape(name)+r'(\{[^}]*\})? ([0-9.eE+]+)$',txt,re.M); return float(m.group(2)) if m else None
def acc(txt):
    m=re.search(r'^parley_messages_accepted(_total)?(\{[^}]*\})? ([0-9.eE+]+)$',txt,re.M); return float(m.group(3)) if m else None
rows=[]
for f in files[::step]:
    t=open(f).read()
    rows.append((int(os.path.basename(f)[:5]),val(t,'dotnet_gc_heap_total_allocated_bytes_total'),acc(t)))
print(' t  KB/msg  msgs')
for a,b in zip(rows,rows[1:]):
    if None in a+b or b[2]==a[2]: continue
    print(b[0], round((b[1]-a[1])/(b[2]-a[2])/1024,2), int(b[2]-a[2]))
