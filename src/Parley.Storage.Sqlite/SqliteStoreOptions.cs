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
}
