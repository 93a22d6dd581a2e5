# components.py <perf script output> [<perf script output>...] [--per-msg US] [--conv] : the samples of `perf script` output (one
#   sample = 1 ms with `perf record -F 997`) folded into the server's components of a warm 1:1 send (issue 17, stop 44 edge):
#   each stack goes to the first component (in the order below) one of whose patterns matches one of its frames, so a
#   SQLite frame under the commit pipeline counts as "store", an Orleans send under the gateway's send as "orleans call out".
#   With several files, one column each (a base and a new profile of the same run). --per-msg US: also µs per message, given
#   each file's µs of server CPU per message (comma-separated, one per file).
#   "of which kernel": the stacks of a component whose leaf is a kernel frame. --store: also the store's stacks by their
#   first matching part (FTS5, the WAL's pwrite, pread, fsync, the page cache, B-tree/VDBE, the managed provider).
import os, sys, re, collections

COMPONENTS = [
    ("gc", r"^(WKS|SVR)::|gc_heap|GCHeap|GarbageCollect|memclr|WKS::gc|SVR::gc|GCToEEInterface"),
    ("jit", r"^(CILJit|Compiler::|jitNativeCode|TieredCompilation|CallCountingManager)|::compile|libclrjit"),
    ("store (SQLite, the writer's statements, fsync)", r"^sqlite3|^(wal|memjrnl|pager|btree|vdbe|pcache1|fts5|balance_|moveTo|releaseMemArray|pageFind|unixRead|unixWrite|unixSync|getPageNormal)|Parley\.Storage\.Sqlite|Microsoft\.Data\.Sqlite|SQLitePCL|fdatasync|fsync|^__libc_pwrite|^__libc_pread|libe_sqlite3"),
    ("commit pipeline (batching, dispatch, fan-out)", r"Parley\.Core\.Commit\.CommitPipeline|OnCommitted|DeliveryGate|DeferredWakes"),
    ("dedup", r"SendDedup"),
    ("send answers / ack write", r"SendAnswers|AckFrame"),
    ("delivery / outbox write (send loop)", r"ClientConnection\+<RunSendLoopAsync>|ClientConnection::WriteBatch|ClientConnection\+<WriteBatch|Outbox|DeliveryHub|LocalDelivery|DeliveryEvents|SyncRowEncoder"),
    ("orleans call out (message, addressing)", r"GrainReferenceRuntime|InsideRuntimeClient::SendRequest|MessageCenter::(SendMessage|AddressAndSendMessage)|GrainReference|Orleans\.Runtime\.Messaging\.MessageCenter::SendMessage|Invokable.*Invoke"),
    ("grain turn (conversation grain: checks, seq, row)", r"Parley\.Core\.Messaging\.ConversationGrain|ConversationTail|ServerMsgIds|FifoSection"),
    ("orleans receive and scheduling (activation, work items)", r"MessageCenter::ReceiveMessage|ActivationData|WorkItemGroup|InsideRuntimeClient::Invoke|InsideRuntimeClient\+<Invoke|Orleans\.Runtime"),
    ("gateway send (SubmitOneWay, checks, command)", r"RequestHandler|MessagingService|SendHops|ProtoMapper|SendCommand"),
    ("socket read / frame parse / dispatch", r"ReceiveLoopAsync|ReceiveFrameAsync|DuplexPipeStream|ManagedWebSocket|FrameCodec|ConnectionHost|NativeConnectionHandler|ClientFrame|Google\.Protobuf|sock_recvmsg|tcp_recvmsg"),
    ("kestrel / sockets (other)", r"Kestrel|System\.Net\.Sockets|SocketAsyncEngine|epoll|System\.IO\.Pipelines"),
    ("metrics / telemetry", r"OpenTelemetry|MetricsSnapshot|System\.Diagnostics\.Metrics|Histogram"),
    ("socket send, kernel (sendto, TCP, the loopback peer's receive in softirq; caller not named)", r"^__send$|__sys_sendto|tcp_sendmsg"),
    ("thread pool (idle, spinning, waiting)", r"PortableThreadPool|LowLevelLifoSemaphore|WorkerThread|ThreadPoolWorkQueue::Dispatch$|SpinWait|futex|schedule$|do_futex"),
]
# --conv (stop 45, act): a message that opens a 1:1 conversation (random pairs), split into the new conversation's parts
# before the warm send's components: Orleans' activation (placement, directory, catalog, the grain's construction), the
# grain's activation load (OnActivateAsync: the conversation row that is not there yet), the first send's reads (the peer's
# user row, the pair's relation), deactivation (Orleans' collector, the catalog, the directory's unregistration, Parley's
# early 1:1 deactivation).
CONV = [
    ("gc", COMPONENTS[0][1]),
    ("jit", COMPONENTS[1][1]),
    ("new conv: activation load (OnActivateAsync: the conversation row)", r"ConversationGrain.*OnActivateAsync|GetConversationAsync"),
    ("new conv: first send's reads (peer user row, relation flags)", r"TryCreateDirectAsync|RefreshRelationAsync|RelationReader|GetPairFlagsAsync|SqliteAccountStore.*GetUserAsync"),
    ("new conv: deactivation (collector, catalog, directory unregistration)", r"Deactivat|ActivationCollector|IdleDirectConversations|Unregister|DisposeAsync.*Activation|ActivationData::(Finish|Dispose)"),
    ("new conv: activation (placement, directory, catalog, grain construction)", r"Catalog::GetOrCreateActivation|Placement|GrainDirectory|GrainLocator|LocalGrainDirectory|ActivationDirectory|GrainActivator|ActivatorUtilities|ConversationGrain::\.ctor|ActivationData(::|\+<)(\.ctor|ActivateAsync|CallActivateAsync|<ActivateAsync)|ActivationWorkingSet|GrainContextActivator|CallSite|Polly"),
] + COMPONENTS[2:]
KERNEL = re.compile(r"^(__|do_|entry_|x64|sys_|tcp_|ip_|ext4|vfs_|generic_|filemap|mark_buffer|block_|copy_|schedule|futex|sock_|inet_|net_|dev_|skb|nf_|raw_|_raw|release_|lock_|native_|finish_task|syscall|ksys|file_|jbd2|submit_|blk|folio|page_|alloc_|kmem|kfree|memcg|rcu|irq|asm_)")
if '--conv' in sys.argv:
    sys.argv.remove('--conv'); COMPONENTS = CONV
RULES = [(n, re.compile(p)) for n, p in COMPONENTS]

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fold import load  # noqa: E402 (the same stack reader as fold.py)

def classify(stack):
    for name, rx in RULES:
        for f in stack:
            if rx.search(f):
                return name
    if not stack or all(f == '[unknown]' for f in stack):
        return "unresolved (no frame named)"
    if all(KERNEL.match(f) or f == '[unknown]' for f in stack):
        return "kernel only (no managed caller named)"
    return "other"

STORE_PARTS = [("FTS5 (the search index)", r"^fts5|Fts5|SearchIndex"), ("pwrite (WAL frames, checkpoint copy)", r"__libc_pwrite"),
    ("pread", r"__libc_pread"), ("fsync", r"fsync|fdatasync"), ("page cache (pcache1)", r"^pcache1"), ("WAL, other", r"^wal|^sqlite3Wal|^pagerWal"),
    ("B-tree / VDBE", r"^(sqlite3Btree|sqlite3Vdbe|btree|balance|moveTo|vdbe)"), ("managed provider (Parley.Storage.Sqlite, Microsoft.Data.Sqlite)", r"Parley\.Storage|Microsoft\.Data|SQLitePCL")]
args = [a for a in sys.argv[1:]]
store = '--store' in args
if store: args.remove('--store')
per = None
if '--per-msg' in args:
    i = args.index('--per-msg'); per = [float(x) for x in args[i + 1].split(',')]; del args[i:i + 2]
files = args
counts = []; kern = []; totals = []; parts = []
for f in files:
    st = load(f); c = collections.Counter(); k = collections.Counter(); p = collections.Counter()
    for s in st:
        n = classify(s); c[n] += 1
        if s and KERNEL.match(s[0]): k[n] += 1
        if n.startswith("store"):
            p[next((name for name, rx in STORE_PARTS if any(re.search(rx, fr) for fr in s)), "rest of SQLite")] += 1
    counts.append(c); kern.append(k); totals.append(len(st)); parts.append(p)
names = [n for n, _ in COMPONENTS] + ["kernel only (no managed caller named)", "unresolved (no frame named)", "other"]
names.sort(key=lambda n: -counts[0][n])
hdr = "| component | " + " | ".join(f"{f.split('/')[-1]} share" + (" | µs/msg" if per else "") + " | of which kernel" for f in files) + " |"
print(f"samples: " + ", ".join(f"{f.split('/')[-1]} {t}" for f, t in zip(files, totals)))
print(hdr)
print("|---|" + "---:|" * (len(files) * (3 if per else 2)))
for n in names:
    row = f"| {n} |"
    for j in range(len(files)):
        sh = counts[j][n] / max(totals[j], 1)
        row += f" {100 * sh:.1f} % |"
        if per: row += f" {sh * per[j]:.1f} |"
        row += f" {100 * kern[j][n] / max(totals[j], 1):.1f} % |"
    print(row)
if store:
    print()
    print("| the store's samples by part | " + " | ".join(f"{f.split('/')[-1]} share of all" + (" | µs/msg" if per else "") for f in files) + " |")
    print("|---|" + "---:|" * (len(files) * (2 if per else 1)))
    for n in [x for x, _ in STORE_PARTS] + ["rest of SQLite"]:
        row = f"| {n} |"
        for j in range(len(files)):
            sh = parts[j][n] / max(totals[j], 1)
            row += f" {100 * sh:.1f} % |" + (f" {sh * per[j]:.1f} |" if per else "")
        print(row)
