namespace Parley.Storage.Sqlite;

/// <summary>SQLite's <c>PRAGMA synchronous</c> levels that the store accepts.</summary>
public enum SqliteSynchronous
{
    /// <summary>No fsync. Loses committed transactions on power loss. Benchmarks only.</summary>
    Off = 0,

    /// <summary>WAL is not synced on every commit. Loses recent commits on power loss. Benchmarks only.</summary>
    Normal = 1,

    /// <summary>The WAL is synced on every commit: an acknowledged commit survives power loss.</summary>
    Full = 2,
}

/// <summary>Settings of the SQLite message and account stores (bound to <c>Parley:Storage:Sqlite</c>).</summary>
public sealed class SqliteStoreOptions
{
    /// <summary>Path of the database file. Its directory is created when missing. Required.</summary>
    public string DataSource { get; set; } = "";

    /// <summary>
    /// When true (the default) the store refuses to start unless the database runs in WAL mode with
    /// <c>synchronous=FULL</c>, because anything weaker can lose acknowledged messages.
    /// </summary>
    public bool Durable { get; set; } = true;

    /// <summary>The synchronous level to apply. Only <see cref="SqliteSynchronous.Full"/> is allowed when <see cref="Durable"/> is true.</summary>
    public SqliteSynchronous Synchronous { get; set; } = SqliteSynchronous.Full;

    /// <summary>How long a connection waits for a lock held by another connection, in milliseconds.</summary>
    public int BusyTimeoutMs { get; set; } = 5000;

    /// <summary>
    /// Page cache of the writer connection, in KiB (<c>PRAGMA cache_size = -N</c>; it grows only as pages are used).
    /// SQLite's default is 2,000 KiB, which a growing message table outgrows: every page the writer then needs again is
    /// read back from the file. Read connections keep SQLite's default (a write elsewhere empties their cache anyway).
    /// Larger is not free: when a b-tree page split reorders the new pages, SQLite (3.53) moves one of them through the
    /// page number of the locking page (1 GiB / page size) for a moment, and the commit that ends that transaction then
    /// walks every page this cache holds to drop the pages beyond the database's end (<c>pcache1TruncateUnsafe</c>). With
    /// pages freed and reused under a message load, nearly every split is such a reorder, so the walk is paid by many
    /// commits, in proportion to this size: at 64 MiB it was the largest single item of the server's CPU in a 1:1 soak
    /// (docs/performance.md, stop 36, perf).
    /// </summary>
    public int WriterCacheSizeKb { get; set; } = 16384;

    /// <summary>
    /// Page cache of the writer connection, in KiB, once the database file is larger than 1 GiB (checked every
    /// 1,024 commits, and at the first). The walk that makes <see cref="WriterCacheSizeKb"/> a cost per commit happens only
    /// while the file is smaller: SQLite parks a page at the locking page's number (the page holding byte 1 GiB) and then
    /// walks the cache to drop pages beyond the end; once the file reaches past that page nothing is beyond the end. Above
    /// 1 GiB a random-pair message's leaves are spread over the whole file, so the writer read 12–13 pages per message
    /// back (stop 44, store-io at 1.2 GB: about 51 KB per message, most of the soak's reads). At or below
    /// <see cref="WriterCacheSizeKb"/> the writer keeps that one.
    /// </summary>
    public int WriterLargeFileCacheSizeKb { get; set; } = 65536;

    /// <summary>The file size above which <see cref="WriterLargeFileCacheSizeKb"/> applies: 1 GiB and one 64 KiB page. Tests only.</summary>
    internal long LargeFileBytes { get; set; } = 0x40000000L + 65536;

    /// <summary>Commits between two checks of the file's size for <see cref="WriterLargeFileCacheSizeKb"/>. Tests only.</summary>
    internal int LargeFileCheckCommits { get; set; } = 1024;

    /// <summary>Bytes of the database file each connection maps into memory (<c>PRAGMA mmap_size</c>); 0 reads through the page cache only.</summary>
    public long MmapSizeBytes { get; set; }

    /// <summary>
    /// The page size, in bytes, of a database this store creates (<c>PRAGMA page_size</c>: a power of two from 512 to
    /// 65,536). It applies only when the file is new: SQLite fixes the page size when it first writes the file, and a WAL
    /// database keeps it; an existing file keeps its own (<c>VACUUM</c> rebuilds it with a new one, see
    /// docs/backup.md). Every WAL frame is one whole page, so the page size is the unit of what a commit writes and
    /// fsyncs (ADR 0030, stop 45 in docs/performance.md).
    /// </summary>
    public int PageSize { get; set; } = 4096;

    /// <summary>
    /// Bytes of the database file the writer connection maps into memory (<c>PRAGMA mmap_size</c>, capped by SQLite at
    /// its build's 0x7fff0000), when larger than <see cref="MmapSizeBytes"/>; the read connections keep that one (ADR 0026).
    /// The writer's misses on the pages of a file larger than its cache become reads of the kernel's page cache without a
    /// system call or a copy. The read connections would not gain: in WAL mode a reader that sees a new snapshot drops its
    /// map. The cost: an I/O error on a mapped page (a failing disk) ends the process (SIGBUS) instead of failing the commit;
    /// acks follow the commit's fsync, so nothing acknowledged is lost. 0 (the default): the writer reads as the readers do.
    /// </summary>
    public long WriterMmapSizeBytes { get; set; }

    /// <summary>
    /// WAL size, in pages, after which the WAL is checkpointed into the database file. A checkpoint copies each page's
    /// latest version once, so a longer WAL rewrites a page that many commits change less often; the WAL file grows to
    /// about this many pages (of <see cref="PageSize"/> each: 160 MB at the defaults). With <see cref="CheckpointInBackground"/> off this is the
    /// writer's <c>PRAGMA wal_autocheckpoint</c>. Stop 42 (docs/performance.md): at 10,000 the checkpoint copied 27 KB per
    /// 1:1 random-pair message each way (read from the WAL, written to the file), at 40,000 16 KB; and each round ends with
    /// the writer's short catch-up copy and its fsyncs (~35 ms under load, every write queued behind it waits), which a
    /// longer WAL needs four times less often.
    /// </summary>
    public int WalAutoCheckpointPages { get; set; } = 40000;

    /// <summary>
    /// True (the default): the writer never checkpoints (<c>wal_autocheckpoint = 0</c>); it counts the WAL frames its
    /// commits write, and once <see cref="WalAutoCheckpointPages"/> have accumulated a background connection runs a
    /// <c>PASSIVE</c> checkpoint while the writer goes on committing. False: SQLite's own auto-checkpoint, which runs inside
    /// the commit that crossed the threshold, so that commit (and every write queued behind it) waits for the copy and the
    /// database file's fsync.
    /// </summary>
    public bool CheckpointInBackground { get; set; } = true;

    /// <summary>
    /// Rows of the full-text index (messages, in commit order) below its cursor that one page of a search across the user's
    /// conversations may walk when the word's newest matches are other users' (ADR 0018, stop 31 amendment). FTS5 finds
    /// the user's matches by stepping through the word's matches in every conversation, so without a bound such a page
    /// costs in proportion to how common the word is in the whole store, however few of the matches are the user's. A page
    /// that reaches it returns what it found (maybe nothing) and a page token that goes on below it. Counted in rows, not
    /// in the word's matches, so where a page stops depends on nothing other users wrote.
    /// </summary>
    public int SearchRowAllowance { get; set; } = 1_000_000;

    /// <summary>
    /// Leaf pages of the full-text index one background merge step may write (FTS5's <c>merge</c> command; issue 18, stop
    /// 33). The search indexer runs steps when it found the queue empty, each a write of its own in the writer queue (so a
    /// commit waits behind at most one step) and skipped while other writes are queued. The steps keep the index in few
    /// segments: every segment is opened once per term a search looks up, so a search's fixed cost grows with the count
    /// (ADR 0018, stop 33 amendment). 0 turns the background merge off.
    /// </summary>
    public int SearchMergePages { get; set; } = 64;

    /// <summary>
    /// The most of the writer's time the full-text index's background merge steps may take while other writes come
    /// (0 &lt; share ≤ 1; 1: no bound). Charged per step for the time it held the writer, its commit included; a step
    /// waits until the share of the time since the earlier steps pays for them (a burst of up to 100 ms after a quiet
    /// stretch). While no other write finished for a second the writer counts as idle and steps run back to back,
    /// uncharged (each still yields to a write that comes). Stop 37: at 1 % a 1:1 load of 300 messages a second pays at
    /// most ~4 % of its CPU for the merge, where steps back to back between commits cost +24 % (ADR 0019).
    /// </summary>
    public double SearchMergeShare { get; set; } = 0.01;

    /// <summary>
    /// Leaf pages the full-text index's background merge may write per row indexed while other writes come (stop 39; not
    /// negative). A step of <see cref="SearchMergePages"/> waits, besides its time share, until the rows indexed since the
    /// earlier steps paid for its pages (the balance holds four steps and starts full), so the merge's cost follows the
    /// rows written, not the wall clock. 0.1 is about five rewrites of each row's index entries over the store's life at a
    /// million messages (a merged index holds ~0.02 leaf pages per message); the policy's full merges need about nine, so
    /// under a steady load the index keeps a few more segments until the writer is idle, when steps run back to back as
    /// before. At 300 messages a second this cut the merge's steps by about 70 % (ADR 0019, stop 39).
    /// </summary>
    public double SearchMergePagesPerRow { get; set; } = 0.1;

    /// <summary>
    /// How often, in milliseconds, the rows derived from a message (its conversation's max/last seq, <c>updated_at</c> and
    /// head version; the members' feed versions and the sender's read seq) are written, instead of in every commit that
    /// holds messages (ADR 0028). A commit records the conversations it left behind in <c>feed_state.pending</c> (durable:
    /// a restart derives their rows from the messages); the flush rides on the next commit after this interval, or runs
    /// when a read that must see one's own writes (sync, conversation list, unread counts, a conversation's view or
    /// members) finds anything pending. 0 writes them in every commit, as before. Not negative.
    /// </summary>
    public int DerivedRowsFlushMs { get; set; } = 100;

    /// <summary>The most the merge's budget holds after a quiet stretch (the largest burst of steps under load). Tests only.</summary>
    internal TimeSpan SearchMergeBudgetCap { get; set; } = TimeSpan.FromMilliseconds(100);

    /// <summary>Without another write finished for this long the writer counts as idle and merge steps run uncharged. Tests only.</summary>
    internal TimeSpan SearchMergeIdleAfter { get; set; } = TimeSpan.FromSeconds(1);
}
