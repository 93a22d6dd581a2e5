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
}
