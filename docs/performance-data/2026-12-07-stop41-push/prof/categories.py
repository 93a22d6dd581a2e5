import re,sys,collections
cats=[("WAL/DB writes (pwrite)",r"__libc_pwrite|pwrite64"),("page reads (pread)",r"__libc_pread|pread64"),("fsync/fdatasync",r"fdatasync|fsync"),
("SQLite (libe_sqlite3, all)",r"libe_sqlite3"),("HttpClient (System.Net.Http)",r"System\.Net\.Http\]"),("sockets/epoll (kernel net)",r"tcp_|sock_|epoll"),
("JSON (System.Text.Json)",r"System\.Text\.Json"),("GC",r"WKS::gc|SVR::gc|gc_heap|GCHeap"),("JIT (libclrjit)",r"libclrjit"),
("token cipher / HMAC (libcrypto)",r"libcrypto"),("thread pool wait/spin",r"LowLevelLifoSemaphore|sched_yield|futex"),("benchmark proxy (reflection)",r"CountingProxy|RuntimeMethodInfo::Invoke"),
("Kestrel (endpoint)",r"Microsoft\.AspNetCore\.Server\.Kestrel"),("form parsing (endpoint)",r"ReadFormAsync|FormReader|FormPipeReader")]
for f in sys.argv[1:]:
    stacks=[];cur=None
    for line in open(f):
        if not line.strip():
            continue
        if not line[0].isspace():
            if cur is not None: stacks.append(cur)
            cur=[]
        else: cur.append(line)
    if cur is not None: stacks.append(cur)
    n=len(stacks); print(f"{f}: {n} samples (1 ms of CPU each)")
    for name,pat in cats:
        c=sum(1 for s in stacks if any(re.search(pat,x) for x in s))
        if c: print(f"  {100*c/n:5.1f} %  {name}")
