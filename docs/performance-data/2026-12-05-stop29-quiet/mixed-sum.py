import re,glob,sys,statistics as st
d=sys.argv[1]; labels=sys.argv[2:]
def med(x): return f"{st.median(x):.3f} ({min(x):.3f}–{max(x):.3f}, n={len(x)})" if x else "-"
for lab in labels:
    L={'logins/s':[], 'ms/login':[], 'KB/login':[], 'KB/conn idle':[], 'grp cpu% @400':[], 'grp cpu% @800':[], 'grp deliv/s @800':[], 'grp half p99':[], 'grp lost':[]}
    for f in sorted(glob.glob(f"{d}/{lab}-r*.log")):
        for line in open(f):
            m=re.match(r'\[parley login r\d+\] \d+ logins in [\d.]+ s = (\d+)/s.*?([\d.]+) ms/login, alloc ([\d.]+) KB/login.*?([\d.]+) KB/conn',line)
            if m: L['logins/s'].append(float(m[1]));L['ms/login'].append(float(m[2]));L['KB/login'].append(float(m[3]));L['KB/conn idle'].append(float(m[4]))
            m=re.match(r'\[parley group r\d+ (ramp|half) (\d+)/s\].*?deliv (\d+)/s.*?p99 ([\d.]+).*?srv cpu (\d+)%.*?lost (\d+)',line)
            if m:
                kind,rate=m[1],int(m[2])
                if kind=='ramp' and rate==400: L['grp cpu% @400'].append(float(m[5]))
                if kind=='ramp' and rate==800: L['grp cpu% @800'].append(float(m[5])); L['grp deliv/s @800'].append(float(m[3]))
                if kind=='half': L['grp half p99'].append(float(m[4]))
                L['grp lost'].append(float(m[6]))
    print(lab); [print(f"  {k}: {med(v)}") for k,v in L.items()]
