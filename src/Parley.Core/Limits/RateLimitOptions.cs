using Microsoft.Extensions.Options;

namespace Parley.Core.Limits;

/// <summary>What a request costs against the limits.</summary>
public enum RateLimitAction
{
    /// <summary>Sending a message (native send, OpenIM send, REST send).</summary>
    Send,

    /// <summary>Asking someone to be a friend.</summary>
    FriendRequest,

    /// <summary>Creating a group.</summary>
    CreateGroup,

    /// <summary>Joining or asking to join a group.</summary>
    Join,

    /// <summary>Searching (users, groups, messages, the directory).</summary>
    Search,

    /// <summary>Uploading a file.</summary>
    Upload,

    /// <summary>Any other authenticated client REST call (device API, OpenIM REST).</summary>
    Rest,
}

/// <summary>One token bucket: <see cref="PerSecond"/> tokens refill each second up to <see cref="Burst"/>.</summary>
public sealed class TokenBucketOptions
{
    public double PerSecond { get; set; }

    public int Burst { get; set; }

    public TokenBucketOptions()
    {
    }

    public TokenBucketOptions(double perSecond, int burst)
    {
        PerSecond = perSecond;
        Burst = burst;
    }
}

/// <summary>The limits of one action: per user (all the user's connections on this node) and per connection.</summary>
public sealed class ActionLimitOptions
{
    public TokenBucketOptions PerUser { get; set; } = new();

    public TokenBucketOptions PerConnection { get; set; } = new();

    public ActionLimitOptions()
    {
    }

    public ActionLimitOptions(TokenBucketOptions perUser, TokenBucketOptions perConnection)
    {
        PerUser = perUser;
        PerConnection = perConnection;
    }
}

/// <summary>
/// Per-user and per-connection rate limits, bound to <c>Parley:RateLimits</c>. The defaults let a person type and a busy
/// app sync freely while stopping a script: a user's sends refill at 20/s with a burst of 50; a connection's at 10/s with a
/// burst of 30. Limits are kept per node: a user connected to two nodes gets each node's budget.
/// </summary>
public sealed class RateLimitOptions
{
    public const string Section = "Parley:RateLimits";

    /// <summary>Off for load tests only (the load generator sets it false); on by default.</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>Users never limited (operators' bots, system senders). Admin-API and system calls are never limited.</summary>
    public List<string> ExemptUserIds { get; set; } = [];

    public ActionLimitOptions Send { get; set; } = new(new(20, 50), new(10, 30));

    public ActionLimitOptions FriendRequest { get; set; } = new(new(0.5, 20), new(0.5, 20));

    public ActionLimitOptions CreateGroup { get; set; } = new(new(0.2, 10), new(0.2, 10));

    public ActionLimitOptions Join { get; set; } = new(new(1, 20), new(1, 20));

    public ActionLimitOptions Search { get; set; } = new(new(2, 20), new(2, 20));

    public ActionLimitOptions Upload { get; set; } = new(new(2, 20), new(2, 10));

    public ActionLimitOptions Rest { get; set; } = new(new(50, 200), new(50, 200));

    /// <summary>Buckets untouched this long are forgotten (they would be full again anyway).</summary>
    public TimeSpan IdleBucketLifetime { get; set; } = TimeSpan.FromMinutes(5);

    public ActionLimitOptions For(RateLimitAction action) => action switch
    {
        RateLimitAction.Send => Send,
        RateLimitAction.FriendRequest => FriendRequest,
        RateLimitAction.CreateGroup => CreateGroup,
        RateLimitAction.Join => Join,
        RateLimitAction.Search => Search,
        RateLimitAction.Upload => Upload,
        _ => Rest,
    };
}

/// <summary>Refuses limits that could not work: a bucket needs a positive rate and a burst of at least one.</summary>
public sealed class RateLimitOptionsValidator : IValidateOptions<RateLimitOptions>
{
    public ValidateOptionsResult Validate(string? name, RateLimitOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var failures = new List<string>();
        foreach (var action in Enum.GetValues<RateLimitAction>())
        {
            var limits = options.For(action);
            Check(limits?.PerUser, $"{RateLimitOptions.Section}:{action}:PerUser", failures);
            Check(limits?.PerConnection, $"{RateLimitOptions.Section}:{action}:PerConnection", failures);
        }

        if (options.IdleBucketLifetime <= TimeSpan.Zero)
        {
            failures.Add($"{RateLimitOptions.Section}:IdleBucketLifetime must be positive.");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }

    private static void Check(TokenBucketOptions? bucket, string setting, List<string> failures)
    {
        if (bucket is null || !(bucket.PerSecond > 0) || double.IsInfinity(bucket.PerSecond) || bucket.Burst < 1)
        {
            failures.Add($"{setting} needs PerSecond > 0 and Burst >= 1 (got {bucket?.PerSecond}/s, burst {bucket?.Burst}).");
        }
    }
}
