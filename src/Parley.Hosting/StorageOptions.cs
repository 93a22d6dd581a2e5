using System.ComponentModel.DataAnnotations;
using Parley.Storage.Sqlite;

namespace Parley.Hosting;

/// <summary>Storage settings, bound to <c>Parley:Storage</c>.</summary>
public sealed class StorageOptions
{
    public const string Section = "Parley:Storage";

    /// <summary>Where the embedded database and the generated token key live.</summary>
    [Required]
    public string DataDirectory { get; set; } = "data";

    /// <summary>
    /// Durable mode (the default) acks a message only once it survives power loss; the server refuses to start on
    /// settings that could lose acked messages. Turn off only for throw-away benchmarks.
    /// </summary>
    public bool Durable { get; set; } = true;

    public SqliteSynchronous Synchronous { get; set; } = SqliteSynchronous.Full;

    /// <summary>
    /// Where messages, conversations, groups, accounts, admin data, relations, the organisation directory, push state and
    /// media metadata live: <c>Sqlite</c> (the default: <c>parley.db</c> in the data directory) or <c>Postgres</c>
    /// (<see cref="Postgres"/>).
    /// </summary>
    public StorageProvider Provider { get; set; } = StorageProvider.Sqlite;

    /// <summary>The PostgreSQL provider's settings, bound to <c>Parley:Storage:Postgres</c>.</summary>
    public PostgresStorageSettings Postgres { get; set; } = new();

    /// <summary>SQLite tuning (<c>Parley:Storage:Sqlite</c>): page cache, memory map, checkpoint size and the search's row allowance.</summary>
    public SqliteStorageSettings Sqlite { get; set; } = new();
}

/// <summary>The storage provider of <see cref="StorageOptions.Provider"/>.</summary>
public enum StorageProvider
{
    Sqlite = 0,
    Postgres = 1,
}

/// <summary>SQLite tuning; see <see cref="SqliteStoreOptions"/> for what each setting does.</summary>
public sealed class SqliteStorageSettings
{
    /// <summary>Page cache of the writer connection, in KiB (see <see cref="SqliteStoreOptions.WriterCacheSizeKb"/>).</summary>
    public int WriterCacheSizeKb { get; set; } = 16384;

    /// <summary>Page cache of the writer connection once the file is larger than 1 GiB, in KiB (see <see cref="SqliteStoreOptions.WriterLargeFileCacheSizeKb"/>).</summary>
    public int WriterLargeFileCacheSizeKb { get; set; } = 65536;

    /// <summary>Bytes of the database file each connection maps into memory; 0 for none.</summary>
    public long MmapSizeBytes { get; set; }

    /// <summary>The page size of a new database file, in bytes (see <see cref="SqliteStoreOptions.PageSize"/>; an existing file keeps its own).</summary>
    public int PageSize { get; set; } = 4096;

    /// <summary>Bytes of the database file the writer connection maps into memory (see <see cref="SqliteStoreOptions.WriterMmapSizeBytes"/>); 0 for none.</summary>
    public long WriterMmapSizeBytes { get; set; }

    /// <summary>WAL pages after which the WAL is checkpointed.</summary>
    public int WalAutoCheckpointPages { get; set; } = 40000;

    /// <summary>Milliseconds between two writes of a message's derived rows; 0 for every commit (see <see cref="SqliteStoreOptions.DerivedRowsFlushMs"/>).</summary>
    public int DerivedRowsFlushMs { get; set; } = 100;

    /// <summary>Checkpoint on a background connection instead of inside the writer's commit.</summary>
    public bool CheckpointInBackground { get; set; } = true;

    /// <summary>Rows of the full-text index one page of a search across the user's conversations walks, at most.</summary>
    public int SearchRowAllowance { get; set; } = 1_000_000;

    /// <summary>Leaf pages of the full-text index one background merge step writes (0: no background merge).</summary>
    public int SearchMergePages { get; set; } = 64;

    /// <summary>Most of the writer's time the background merge steps take while other writes come (0 &lt; share ≤ 1; 1: no bound).</summary>
    public double SearchMergeShare { get; set; } = 0.01;

    /// <summary>Leaf pages the background merge may write per row indexed while other writes come (not negative).</summary>
    public double SearchMergePagesPerRow { get; set; } = 0.1;
}

/// <summary>Bound to <c>Parley:Storage:Postgres</c>; used when <c>Parley:Storage:Provider</c> is <c>Postgres</c>.</summary>
public sealed class PostgresStorageSettings
{
    /// <summary>An Npgsql connection string, e.g. <c>Host=db;Port=5432;Username=parley;Password=…;Database=parley</c>.</summary>
    public string ConnectionString { get; set; } = "";

    /// <summary>The schema Parley's tables live in (created when missing).</summary>
    public string Schema { get; set; } = "parley";

    /// <summary>The most connections one node keeps to PostgreSQL unless the connection string sets <c>Maximum Pool Size</c> (2 to 1,000).</summary>
    public int MaxPoolSize { get; set; } = 32;
}

/// <summary>The co-hosted Orleans silo, bound to <c>Parley:Orleans</c>.</summary>
public sealed class OrleansOptions
{
    public const string Section = "Parley:Orleans";

    [Range(1, 65535)]
    public int SiloPort { get; set; } = 11111;

    [Range(1, 65535)]
    public int GatewayPort { get; set; } = 30000;

    public string ClusterId { get; set; } = "parley";

    public string ServiceId { get; set; } = "parley";

    /// <summary>
    /// How long a grain (a conversation, a user's sessions, a group's roster) stays in memory without a call before it is
    /// deactivated; its next call reloads it from the store (a conversation its hot tail). Bounds the memory a server keeps
    /// for conversations nobody uses any more (issue 17's soak). Two minutes by default (stop 40; it was 30): a conversation
    /// grain holds about 4-6 KB, so at 1,000 new conversations a second 30 minutes kept ~1.8 million of them and the memory
    /// grew for half an hour, where two minutes keep ~120,000; a conversation called again after that reloads its hot tail
    /// with a few indexed reads, and its dedup falls back to the store's client message id index.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:02", "7.00:00:00")]
    public TimeSpan IdleAge { get; set; } = TimeSpan.FromMinutes(2);

    /// <summary>
    /// How long a 1:1 conversation's grain stays in memory without a call (shorter than <see cref="IdleAge"/>, which the
    /// other grains keep). A flood of new 1:1 conversations is what fills a node with grains (issue 17's soak: 2,000 new
    /// ones a second kept ~260,000 conversation grains of 4-6 KB for the 2-minute idle age, each one surviving the young
    /// collections and dying in gen2); its next call reloads it from the store with a few indexed reads, as after the idle
    /// age. Zero, or not below <see cref="IdleAge"/>: 1:1 conversations keep <see cref="IdleAge"/>. 30 s by default (stop 41).
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00", "7.00:00:00")]
    public TimeSpan DirectIdleAge { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// The most 1:1 conversation grains a node keeps before their <see cref="DirectIdleAge"/> (give or take one sweep's new
    /// ones, a second's at most): past it the least recently used are deactivated early, unless called within the last
    /// second, and reload from the store on their next call as after the idle age. A flood of new conversations is what
    /// this bounds (issue 17's soak, stop 45: at 4,750 new 1:1 conversations a second the 30 s age kept ~140,000 grains of
    /// ~4.7 KB, ~670 MB of the heap; 50,000 keep ~235 MB). 0: no bound. Acts only when <see cref="DirectIdleAge"/> does.
    /// Neither this nor the age deactivates a grain whose commit is still running, and a grain's last use is when its last
    /// commit ended (stop 46, ADR 0032: a node seconds behind shed grains with sends in flight, and their next calls went to
    /// new activations that read the store before those commits).
    /// </summary>
    [Range(0, int.MaxValue)]
    public int DirectMaxActive { get; set; } = 50_000;

    /// <summary>
    /// What this node keeps of shed 1:1 conversations for their next activation (ADR 0033), in estimated bytes: the row and
    /// seq, the two members, the pair's relation and the newest messages that fit 1 KB per conversation, so that an
    /// activation within the entry's life reads nothing from the store. Kept only by a grain whose writes are all durable;
    /// the oldest evicted first. 64 MiB by default: ~78,000 conversations at the ~0.85 KB a short one held in stop 48's run,
    /// more than <see cref="DirectMaxActive"/>'s 50,000 grains in about a quarter of their memory. 0: off. Always off in a cluster (another node may
    /// own the grain and commit meanwhile) and with <c>Parley:Social:FriendsOnlyDirectMessages</c>. Acts only when
    /// <see cref="DirectIdleAge"/> does.
    /// </summary>
    [Range(0, long.MaxValue)]
    public long DirectShedCacheBytes { get; set; } = 64L << 20;

    /// <summary>The idle age of 1:1 conversation grains in effect: <see cref="DirectIdleAge"/>, or zero (off).</summary>
    public TimeSpan EffectiveDirectIdleAge => DirectIdleAge > TimeSpan.Zero && DirectIdleAge < IdleAge ? DirectIdleAge : TimeSpan.Zero;

    /// <summary>
    /// How many grain addresses Orleans' directory cache keeps (its <c>GrainDirectoryOptions.CacheSize</c>). Null (the
    /// default): none on one node, where every grain's address is in the node's own directory partition and the cache only
    /// duplicated it; Orleans' 1,000,000 in a cluster (addresses of grains on other nodes). The cache keeps the address of a
    /// grain deactivated in a batch of unregistrations until it is evicted (Orleans 10.4), about 0.25 KB each: issue 17's
    /// soak had 287,000 of them for 30,000 live conversation grains after 5 minutes, growing with every conversation ever
    /// activated up to the million. 0: no cache.
    /// </summary>
    [Range(0, int.MaxValue)]
    public int? DirectoryCacheSize { get; set; }

    /// <summary>
    /// How often Orleans looks for grains past their idle age (its collection quantum). Every grain that became due
    /// within one quantum is deactivated in the same pass, so a long quantum deactivates in bursts (issue 17's soak: a
    /// minute's worth, ~45,000 conversation grains at 750 new conversations a second, at once) and keeps grains up to
    /// one quantum past their idle age. Null (the default): a tenth of <see cref="IdleAge"/>, at least 1 s and at most
    /// 10 s. Must be shorter than <see cref="IdleAge"/>.
    /// </summary>
    public TimeSpan? CollectionQuantum { get; set; }

    /// <summary>The collection quantum in effect: <see cref="CollectionQuantum"/> or its default.</summary>
    public TimeSpan EffectiveCollectionQuantum => CollectionQuantum ?? DefaultCollectionQuantum(IdleAge);

    /// <summary>A tenth of the idle age, at least 1 s and at most 10 s (and below the idle age).</summary>
    public static TimeSpan DefaultCollectionQuantum(TimeSpan idleAge)
    {
        var tenth = TimeSpan.FromTicks(idleAge.Ticks / 10);
        var quantum = tenth < TimeSpan.FromSeconds(1) ? TimeSpan.FromSeconds(1) : tenth > TimeSpan.FromSeconds(10) ? TimeSpan.FromSeconds(10) : tenth;
        return quantum < idleAge ? quantum : TimeSpan.FromTicks(idleAge.Ticks / 2);
    }

    /// <summary>
    /// Deactivate the least recently used grains, before their idle age, while memory use, as Orleans' environment
    /// statistics report it against the memory available to the process (the machine's, or the container's limit), is
    /// above <see cref="MemoryLimitPercent"/>, until it is below <see cref="MemoryTargetPercent"/>.
    /// </summary>
    public bool ShedOnMemoryPressure { get; set; } = true;

    /// <summary>
    /// Orleans' grain workload analysis (its <c>GrainWorkloadAnalysisPeriod</c>): every 10 s it walks the recently used
    /// grains and, for each request running or queued for long, logs the grain's state and sends its caller a status
    /// message with a diagnostic dump. Off by default (issue 17, stop 40): it adds a dictionary entry per grain call, and
    /// under an overload it is what the server spends its time on (a 2,000 msg/s soak past its limit spent 27 % of the
    /// CPU building the dumps and 20 % logging the status messages that expired, 1.5 million warnings in three minutes),
    /// while a send never waits longer than Orleans' response timeout either way. Turn it on to diagnose a stuck grain.
    /// </summary>
    public bool WorkloadAnalysis { get; set; }

    [Range(2, 100)]
    public int MemoryLimitPercent { get; set; } = 85;

    [Range(1, 99)]
    public int MemoryTargetPercent { get; set; } = 75;
}
