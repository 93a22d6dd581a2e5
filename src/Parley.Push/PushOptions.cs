using System.ComponentModel.DataAnnotations;

namespace Parley.Push;

/// <summary>Pipeline settings, bound to <c>Parley:Push</c>.</summary>
public sealed class PushOptions
{
    public const string Section = "Parley:Push";

    /// <summary>Devices not seen for this long are not pushed (vendors drop such tokens anyway).</summary>
    public TimeSpan StaleDeviceAfter { get; set; } = TimeSpan.FromDays(60);

    /// <summary>Coalescing window per (user, device, conversation): the first message goes at once, the rest as one digest at the window's end.</summary>
    public TimeSpan CoalesceWindow { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Lane capacities (pushes waiting for a worker). IM and service callers wait for room; content/marketing beyond capacity is dropped with reason lane_full.</summary>
    [Range(1, 10_000_000)]
    public int ImLaneCapacity { get; set; } = 10_000;

    [Range(1, 10_000_000)]
    public int ServiceLaneCapacity { get; set; } = 10_000;

    [Range(1, 10_000_000)]
    public int MarketingLaneCapacity { get; set; } = 100_000;

    /// <summary>Concurrent vendor requests in flight (all vendors), and so the most pushes a crash can catch mid-request.</summary>
    [Range(1, 10_000)]
    public int Workers { get; set; } = 32;

    /// <summary>
    /// Pushes a send loop takes from the lanes at once (issue 17): their journal rows are read in one query and their
    /// devices in another, they are claimed in one write, sent concurrently, and their results written with the loop's
    /// next claims (one write per batch; alone when nothing else is due). The
    /// <see cref="Workers"/> are split into loops of at most this many (32 workers, batch 16: two loops of 16), so
    /// <see cref="Workers"/> stays the bound on requests in flight. 1 sends one push at a time per worker.
    /// </summary>
    [Range(1, 1_000)]
    public int DispatchBatch { get; set; } = 16;

    /// <summary>Attempts per push before it is dead-lettered.</summary>
    [Range(1, 100)]
    public int MaxAttempts { get; set; } = 5;

    public TimeSpan RetryBaseDelay { get; set; } = TimeSpan.FromSeconds(2);

    public TimeSpan RetryMaxDelay { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>Quiet hours in the device's time zone; non-IM pushes falling inside are delayed to the end.</summary>
    public TimeOnly QuietHoursStart { get; set; } = new(22, 0);

    public TimeOnly QuietHoursEnd { get; set; } = new(8, 0);

    /// <summary>Clicks needed before a user's learned send hour is used for content/marketing pushes.</summary>
    [Range(1, 1000)]
    public int SendTimeMinClicks { get; set; } = 3;

    /// <summary>Marketing pushes per user per UTC day.</summary>
    [Range(0, 1000)]
    public int MarketingDailyCapPerUser { get; set; } = 3;

    /// <summary>Epsilon of the epsilon-greedy template bandit.</summary>
    [Range(0.0, 1.0)]
    public double BanditEpsilon { get; set; } = 0.1;

    /// <summary>Seed for the bandit's random choices (tests); null = random.</summary>
    public int? RandomSeed { get; set; }

    /// <summary>
    /// Token clean-up guard: this many invalid-token answers in a row for one (vendor, app) without an accepted push in
    /// between raise a config alarm and delete nothing. Deletions are applied once an accepted push from the same
    /// (vendor, app) proves the credentials are right.
    /// </summary>
    [Range(2, 10_000)]
    public int InvalidTokenAlarmThreshold { get; set; } = 5;

    /// <summary>Finished journal rows older than this are deleted (hourly); pending and dead-lettered rows are kept.</summary>
    public TimeSpan JournalRetention { get; set; } = TimeSpan.FromDays(7);

    /// <summary>
    /// This node's stable name in the push journal (ADR 0014): its pipeline owns the rows it journals as
    /// "{NodeName}/{incarnation}", and a restarted node adopts its previous incarnations' rows at once. Two live nodes must
    /// never share it. Empty: the host's default ("standalone", or in a cluster the advertised address and silo port).
    /// </summary>
    public string NodeName { get; set; } = "";

    /// <summary>How long a pipeline's lease on its journal rows lasts; another node adopts a dead node's rows once it lapsed.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "01:00:00")]
    public TimeSpan LeaseDuration { get; set; } = TimeSpan.FromSeconds(20);

    /// <summary>How often a pipeline renews its lease and looks for rows of dead owners to adopt (below <see cref="LeaseDuration"/>).</summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "00:10:00")]
    public TimeSpan LeaseRenewInterval { get; set; } = TimeSpan.FromSeconds(5);
}
