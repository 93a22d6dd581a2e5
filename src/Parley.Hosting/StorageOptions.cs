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
}

/// <summary>The storage provider of <see cref="StorageOptions.Provider"/>.</summary>
public enum StorageProvider
{
    Sqlite = 0,
    Postgres = 1,
}

/// <summary>Bound to <c>Parley:Storage:Postgres</c>; used when <c>Parley:Storage:Provider</c> is <c>Postgres</c>.</summary>
public sealed class PostgresStorageSettings
{
    /// <summary>An Npgsql connection string, e.g. <c>Host=db;Port=5432;Username=parley;Password=…;Database=parley</c>.</summary>
    public string ConnectionString { get; set; } = "";

    /// <summary>The schema Parley's tables live in (created when missing).</summary>
    public string Schema { get; set; } = "parley";
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
}
