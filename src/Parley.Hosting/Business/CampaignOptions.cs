using System.ComponentModel.DataAnnotations;

namespace Parley.Hosting.Business;

/// <summary>Marketing campaign settings, bound to <c>Parley:Campaigns</c> (docs/business.md, ADR 0015 §4).</summary>
public sealed class CampaignOptions
{
    public const string Section = "Parley:Campaigns";

    /// <summary>Whether this node runs campaigns (the API answers either way). In a cluster any number of nodes may: a lease keeps one runner per campaign.</summary>
    public bool RunnerEnabled { get; set; } = true;

    /// <summary>How often an idle runner looks for a due campaign or one whose lease expired.</summary>
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>How long a runner's lease lasts without renewal (renewed with every chunk). A crashed node's campaign resumes elsewhere after it.</summary>
    public TimeSpan LeaseDuration { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Users per chunk at most (one journal append and one target commit each); smaller at low rates so the throttle stays smooth.</summary>
    [Range(1, 10_000)]
    public int ChunkSize { get; set; } = 500;

    /// <summary>Users per second when a campaign names no rate.</summary>
    [Range(1, 1_000_000)]
    public int DefaultRatePerSecond { get; set; } = 500;

    /// <summary>The highest rate a campaign may ask for.</summary>
    [Range(1, 1_000_000)]
    public int MaxRatePerSecond { get; set; } = 5_000;

    /// <summary>Users in an explicit audience list at most.</summary>
    [Range(1, 10_000_000)]
    public int MaxAudience { get; set; } = 1_000_000;

    /// <summary>
    /// The body cap of a campaign's create request, which carries its uploaded audience list (the admin API's default,
    /// <c>Parley:Admin:MaxBodyBytes</c>, holds some 60,000 ids): enough for <see cref="MaxAudience"/> ids of ~30 characters.
    /// </summary>
    [Range(1024, 256L * 1024 * 1024)]
    public long MaxCreateBodyBytes { get; set; } = 32L * 1024 * 1024;

    /// <summary>The longest a campaign may live (its expiry at most this far after its start).</summary>
    public TimeSpan MaxLifetime { get; set; } = TimeSpan.FromDays(30);

    /// <summary>Campaigns one node runs at the same time.</summary>
    [Range(1, 64)]
    public int MaxConcurrent { get; set; } = 2;
}
