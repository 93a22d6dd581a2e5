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
