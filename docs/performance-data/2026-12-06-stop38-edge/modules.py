# modules.py <script.txt>: self samples by module of the leaf frame, kernel leaf split by the syscall/entry in the stack
import sys, re, collections
c = collections.Counter(); n = 0
cur = None
def flush(s):
    global n
    if not s: return
    n += 1
    leaf = s[0]
    m = re.search(r'\(([^)]*)\)\s*$', leaf); dso = m.group(1) if m else '?'
    dso = dso.split('/')[-1]
    if 'kernel' in dso:
        sysc = next((re.sub(r'\+0x.*', '', l.split(' ',1)[1]) for l in s if '__x64_sys_' in l or 'asm_' in l), 'other')
        dso = 'kernel:' + sysc.strip()
    elif dso.startswith('perf-') and dso.endswith('.map'):
        sym = leaf.split(' ',1)[1]
        if 'Orleans' in sym: dso = 'jit:Orleans'
        elif 'Parley' in sym: dso = 'jit:Parley'
        elif 'Google.Protobuf' in sym: dso = 'jit:Protobuf'
        elif 'Microsoft.Data.Sqlite' in sym or 'SQLitePCL' in sym: dso = 'jit:Sqlite'
        else: dso = 'jit:other'
    c[dso] += 1
for line in open(sys.argv[1], errors='replace'):
    if not line.strip():
        flush(cur); cur = None; continue
    if not line.startswith(('\t', ' ')):
        cur = []; continue
    cur.append(line.strip())
flush(cur)
print(f'samples {n}')
for k, v in c.most_common(30): print(f'{v:6d} {100*v/n:5.1f}%  {k}')
