import os, time, sys, random
# two WAL-like files, 160 MB each, cycled: 48 KB written at the next offset then synced, 150 commits/s each,
# alternating fsync (file A) and fdatasync (file B) so both see the same machine
d=sys.argv[1]; secs=float(sys.argv[2])
fa=os.open(d+'/a.wal',os.O_RDWR|os.O_CREAT,0o600); fb=os.open(d+'/b.wal',os.O_RDWR|os.O_CREAT,0o600)
buf=os.urandom(48*1024); cap=160*1024*1024
off=0; la=[]; lb=[]; end=time.monotonic()+secs
while time.monotonic()<end:
    for fd,sync,lat in ((fa,os.fsync,la),(fb,os.fdatasync,lb)):
        os.pwrite(fd,buf,off)
        t=time.monotonic(); sync(fd); lat.append((time.monotonic()-t)*1e3)
    off=(off+len(buf))%cap
    time.sleep(1/150)
for name,l in (('fsync',la),('fdatasync',lb)):
    l.sort(); q=lambda p:l[min(len(l)-1,int(p*len(l)))]
    print(f"{name}: n {len(l)} p50 {q(.5):.2f} p90 {q(.9):.2f} p99 {q(.99):.2f} p99.9 {q(.999):.2f} max {l[-1]:.1f} ms, >=20 ms: {sum(1 for x in l if x>=20)}")
