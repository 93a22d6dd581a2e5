# cats.py <script.txt>...: per perf-script file, the samples by part of the send (the first rule whose frame the stack holds,
# in the list's order; >= 8 libcoreclr frames at the leaf: the GC), then the samples whose leaf is SQLite's own code and the
# system calls' kernel time (native frames have no frame pointers, so they do not reach a managed caller).
import sys, re, collections
rules = [
 ('gc (coreclr deep stack)', None),
 ('activation: Catalog.GetOrCreateActivation', r'Catalog::GetOrCreateActivation'),
 ('activation: grain OnActivateAsync', r'ConversationGrain\+<OnActivateAsync>|ConversationGrain::OnActivateAsync'),
 ('activation: ActivateAsync (Orleans, minus grain)', r'ActivationData\+<ActivateAsync>|ActivationData::ActivateAsync'),
 ('deactivation', r'Deactivat|FinishDeactivating|IdleDirectConversations'),
 ('grain: TryCreateDirectAsync', r'TryCreateDirectAsync'),
 ('store: Apply (commit statements)', r'SqliteMessageStore::Apply'),
 ('store: writer commit (fsync/wal/other)', r'SqliteDatabase\+<CommitGroupAsync>|SqliteDatabase::CommitAloneAsync|RunWriterAsync'),
 ('checkpoint', r'Checkpoint'),
 ('grain: PrepareMessageAsync (rest)', r'PrepareMessageAsync'),
 ('grain: OnCommitted / publish', r'OnCommitted|DeliveryHub|Publish'),
 ('commit pipeline', r'CommitPipeline'),
 ('orleans messaging', r'Orleans\.'),
 ('gateway', r'Parley\.Gateway|WebSocket'),
]
for path in sys.argv[1:]:
    stacks=[];cur=None
    for line in open(path, errors='replace'):
        if not line.strip():
            if cur: stacks.append(cur)
            cur=None; continue
        if not line.startswith(('\t',' ')): cur=[]; continue
        cur.append(line.strip())
    c=collections.Counter()
    for st in stacks:
        # gc: >= 8 consecutive libcoreclr frames at the leaf
        n=0
        for f in st:
            if 'libcoreclr' in f: n+=1
            else: break
        if n>=8: c['gc (coreclr deep stack)']+=1; continue
        s='\n'.join(st)
        for name, rx in rules[1:]:
            if re.search(rx, s): c[name]+=1; break
        else: c['other']+=1
    t=len(stacks); print(path, t)
    for k,v in sorted(c.items(), key=lambda x:-x[1]): print(f'  {v:6d} {100*v/t:5.1f}%  {k}')
    n=collections.Counter()
    for st in stacks:
        leaf=st[0]; j='\n'.join(st)
        if 'e_sqlite3' in leaf or re.search(r' (sqlite3|wal|pcache|btree|vdbe)\w*', leaf): n['sqlite native (self)']+=1
        elif '__libc_pwrite' in j: n['pwrite (kernel)']+=1
        elif 'fsync' in j or 'fdatasync' in j: n['fsync (kernel)']+=1
        elif '__libc_pread' in j: n['pread (kernel)']+=1
        elif '__send' in j or 'sendmsg' in j or 'sendto' in j: n['socket send']+=1
        elif 'recv' in j: n['socket recv']+=1
        elif 'sched_yield' in j or 'LowLevelSpinWaiter' in j or 'LowLevelLifoSemaphore' in j: n['thread pool spin/yield']+=1
    print('  native:', ' | '.join(f'{k} {v} ({100*v/t:.1f}%)' for k,v in n.most_common()))
