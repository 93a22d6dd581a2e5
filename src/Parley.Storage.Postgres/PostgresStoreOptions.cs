namespace Parley.Storage.Postgres;

/// <summary>Settings of the PostgreSQL stores (bound to <c>Parley:Storage:Postgres</c>).</summary>
public sealed class PostgresStoreOptions
{
    /// <summary>An Npgsql connection string (<c>Host=…;Port=…;Username=…;Password=…;Database=…</c>). Required.</summary>
    public string ConnectionString { get; set; } = "";

    /// <summary>
    /// The schema Parley's tables live in; created when missing. Several Parley deployments (or test runs) can share
    /// one database with different schemas.
    /// </summary>
    public string Schema { get; set; } = "parley";

    /// <summary>
    /// When true (the default) the store refuses to start unless the server confirms every commit durably
    /// (<c>fsync=on</c> and <c>synchronous_commit</c> other than <c>off</c>), because anything weaker can lose acknowledged
    /// messages on a crash.
    /// </summary>
    public bool Durable { get; set; } = true;

    /// <summary>
    /// The most connections this process keeps open to PostgreSQL (Npgsql's pool), unless the connection string sets
    /// <c>Maximum Pool Size</c> itself. Every node of a cluster has a pool of its own, so the nodes' pools together must
    /// stay below the server's <c>max_connections</c> minus <c>superuser_reserved_connections</c>; at start the store
    /// logs how many nodes of this size the server takes, and warns when not even one does. Npgsql's own default (100)
    /// let three nodes exhaust a server of 200 during a burst of grain activations. 2 to 1,000; default 32.
    /// </summary>
    public int MaxPoolSize { get; set; } = 32;

    /// <summary>
    /// Test hook (ADR 0021): when true, every commit is followed by a compaction of each super group it wrote members
    /// of (<see cref="PostgresMessageStore.CompactSuperGroupAsync"/>), so every read path meets packed slots. Costs a
    /// rewrite of the group's pages per commit: never for production. Default false (compaction only when called).
    /// </summary>
    public bool CompactMemberPagesAfterCommit { get; set; }

    /// <summary>
    /// The compaction bound of a super group (ADR 0021): its member rows (the delta beside its packed pages) are moved into
    /// its pages once they reach this many rows and <see cref="MemberCompactionShare"/> of its members. Default 1,000.
    /// </summary>
    public int MemberCompactionMinRows { get; set; } = 1000;

    /// <summary>The share of a super group's members its rows must reach too (with <see cref="MemberCompactionMinRows"/>). Default 0.05.</summary>
    public double MemberCompactionShare { get; set; } = 0.05;

    /// <summary>
    /// The packed pages one compaction transaction rewrites at most (a range of the group's pages, ADR 0021 stop 33): what
    /// bounds how long a commit of the group waits for a compaction. Default 32 (4,096 members).
    /// </summary>
    public int MemberCompactionRangePages { get; set; } = 32;

    /// <summary>The member rows one compaction transaction moves at most (the rest wait for the next pass). Default 4,096.</summary>
    public int MemberCompactionRangeRows { get; set; } = 4096;

    /// <summary>
    /// A commit of several distinct member changes (a bulk job's chunk) writes the new members of a super group straight
    /// into its packed pages (ADR 0021, stop 34, migration 28) when no other commit of the group is in flight and their
    /// span holds at most this many pages; else they are rows, the next compaction's delta. 0: always rows. Default 64.
    /// </summary>
    public int MemberImportPages { get; set; } = 64;

    /// <summary>
    /// The sync of a resume (ADR 0021, stop 35, migration 29) reads a user's packed super-group slots by probing one page in
    /// each super group that changed since the cursor (compacted, edited, or advanced by a message), so it costs the groups
    /// that changed; when this many or more changed (an old cursor), it reads the user's slots through the GIN instead (one
    /// page per super group of the user), as a fresh sync does. 1 to 100,000; default 256.
    /// </summary>
    public int SyncChangedGroupProbes { get; set; } = 256;

    /// <summary>
    /// Test hook: called after each short transaction of a compaction (one range of pages) with the conversation id,
    /// between that transaction's commit and the next one's start. Null (the default) in production.
    /// </summary>
    public Func<string, CancellationToken, Task>? AfterMemberCompactionRange { get; set; }
}
