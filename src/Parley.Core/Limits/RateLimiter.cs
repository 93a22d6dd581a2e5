using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using Microsoft.Extensions.Options;
using Parley.Core.Telemetry;

namespace Parley.Core.Limits;

/// <summary>Who is asking: ordinary users are limited; admins and the system (admin API, server-made notices) are not.</summary>
public enum RateLimitPrincipal
{
    User,
    Admin,
    System,
}

/// <summary>The answer: allowed, or refused with how long to wait before the next attempt can succeed.</summary>
public readonly record struct RateLimitDecision(bool Allowed, TimeSpan RetryAfter)
{
    public static readonly RateLimitDecision Allow = new(true, TimeSpan.Zero);

    /// <summary>The retry-after in whole milliseconds (at least 1 when refused), as the wire carries it.</summary>
    public uint RetryAfterMs => Allowed ? 0 : (uint)Math.Clamp(Math.Ceiling(RetryAfter.TotalMilliseconds), 1, uint.MaxValue);
}

/// <summary>
/// The one rate limiter of the server: token buckets per (action, user) and per (action, connection), checked by every
/// entry point (native gateway, OpenIM edge, HTTP APIs) before the work. A refused request costs nothing, so continuous
/// spam never restores the burst, and a request refused by the connection's bucket does not drain the user's (both are
/// checked before either is charged). Refusals are counted in <c>parley.rate_limited</c> by action and scope.
/// </summary>
public sealed class RateLimiter
{
    private readonly IOptionsMonitor<RateLimitOptions> _options;
    private readonly TimeProvider _time;
    private readonly Counter<long> _limited;
    private readonly ConcurrentDictionary<(RateLimitAction Action, bool PerConnection, string Key), Bucket> _buckets = new();
    private long _lastSweep;

    public RateLimiter(IOptionsMonitor<RateLimitOptions> options, TimeProvider time, ParleyMetrics metrics)
    {
        ArgumentNullException.ThrowIfNull(metrics);
        _options = options;
        _time = time;
        _limited = metrics.RateLimited;
        _lastSweep = time.GetTimestamp();
    }

    /// <summary>Checks and, when allowed, charges one unit of <paramref name="action"/> to the user and the connection.</summary>
    /// <param name="connectionId">The connection or session; null for a call without one (REST).</param>
    public RateLimitDecision TryAcquire(RateLimitAction action, string userId, string? connectionId, RateLimitPrincipal principal = RateLimitPrincipal.User)
    {
        var o = _options.CurrentValue;
        if (!o.Enabled || principal != RateLimitPrincipal.User || o.ExemptUserIds.Contains(userId, StringComparer.Ordinal))
        {
            return RateLimitDecision.Allow;
        }

        var now = _time.GetTimestamp();
        SweepIfDue(o, now);
        var limits = o.For(action);
        var user = _buckets.GetOrAdd((action, false, userId), static _ => new Bucket());
        var connection = connectionId is null ? null : _buckets.GetOrAdd((action, true, connectionId), static _ => new Bucket());

        // Lock order: user, then connection (a connection belongs to one user, so no two callers order them differently).
        lock (user)
        {
            var userWait = user.WaitFor(limits.PerUser, now, _time);
            if (connection is null)
            {
                return Charge(userWait, user, null, action, "user");
            }

            lock (connection)
            {
                var connectionWait = connection.WaitFor(limits.PerConnection, now, _time);
                return userWait >= connectionWait
                    ? Charge(userWait, user, connection, action, "user")
                    : Charge(connectionWait, user, connection, action, "connection");
            }
        }
    }

    /// <summary>Forgets a closed connection's buckets.</summary>
    public void ForgetConnection(string connectionId)
    {
        foreach (var action in Enum.GetValues<RateLimitAction>())
        {
            _buckets.TryRemove((action, true, connectionId), out _);
        }
    }

    private RateLimitDecision Charge(TimeSpan wait, Bucket user, Bucket? connection, RateLimitAction action, string scope)
    {
        if (wait > TimeSpan.Zero)
        {
            _limited.Add(1, new KeyValuePair<string, object?>("action", ActionTag(action)), new KeyValuePair<string, object?>("scope", scope));
            return new RateLimitDecision(false, wait);
        }

        user.Take();
        connection?.Take();
        return RateLimitDecision.Allow;
    }

    private void SweepIfDue(RateLimitOptions o, long now)
    {
        var last = Interlocked.Read(ref _lastSweep);
        if (_time.GetElapsedTime(last, now) < o.IdleBucketLifetime || Interlocked.CompareExchange(ref _lastSweep, now, last) != last)
        {
            return;
        }

        foreach (var (key, bucket) in _buckets)
        {
            if (bucket.IdleFor(now, _time) >= o.IdleBucketLifetime)
            {
                _buckets.TryRemove(key, out _);
            }
        }
    }

    /// <summary>Sets HTTP <c>Retry-After</c> (whole seconds, at least 1) for a refused request.</summary>
    public static void SetRetryAfterHeader(Microsoft.AspNetCore.Http.HttpResponse response, RateLimitDecision decision)
    {
        ArgumentNullException.ThrowIfNull(response);
        var seconds = Math.Max(1, (long)Math.Ceiling(decision.RetryAfter.TotalSeconds));
        response.Headers.RetryAfter = seconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
    }

    public static string ActionTag(RateLimitAction action) => action switch
    {
        RateLimitAction.Send => "send",
        RateLimitAction.FriendRequest => "friend_request",
        RateLimitAction.CreateGroup => "create_group",
        RateLimitAction.Join => "join",
        RateLimitAction.Search => "search",
        RateLimitAction.Upload => "upload",
        _ => "rest",
    };

    /// <summary>A token bucket; callers hold its lock.</summary>
    private sealed class Bucket
    {
        private double _tokens = double.NaN;
        private long _updated;

        public TimeSpan WaitFor(TokenBucketOptions limit, long now, TimeProvider time)
        {
            if (double.IsNaN(_tokens))
            {
                _tokens = limit.Burst;
            }
            else
            {
                _tokens = Math.Min(limit.Burst, _tokens + (time.GetElapsedTime(_updated, now).TotalSeconds * limit.PerSecond));
            }

            _updated = now;
            return _tokens >= 1 ? TimeSpan.Zero : TimeSpan.FromSeconds((1 - _tokens) / limit.PerSecond);
        }

        public void Take() => _tokens -= 1;

        public TimeSpan IdleFor(long now, TimeProvider time) => time.GetElapsedTime(Volatile.Read(ref _updated), now);
    }
}
