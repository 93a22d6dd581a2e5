using System.ComponentModel.DataAnnotations;

namespace Parley.Gateway;

/// <summary>Graceful shutdown, bound to <c>Parley:Shutdown</c>.</summary>
public sealed class ShutdownOptions
{
    public const string Section = "Parley:Shutdown";

    /// <summary>How long connections may take to answer their requests in progress and close (1012) after SIGTERM.</summary>
    [Range(typeof(TimeSpan), "00:00:00", "00:10:00")]
    public TimeSpan DrainTimeout { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>
    /// The whole shutdown (drain, web host, silo with grain deactivation, push journal, commit pipeline); after it the
    /// process exits anyway. Keep the orchestrator's grace period (Kubernetes <c>terminationGracePeriodSeconds</c>) above it.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:01", "00:30:00")]
    public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(30);
}
