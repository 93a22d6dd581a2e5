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
}
