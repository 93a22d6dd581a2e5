using System.Collections.Concurrent;

namespace Parley.Push;

/// <summary>
/// The counters behind the push pipeline's limits and learning (ADR 0014 §6): the vendor quotas per app and per device
/// per UTC day, the marketing cap per user per day, the template bandit's sends and clicks, and each vendor's send rate
/// (a token bucket), vendor-wide pause (Retry-After) and category blocks (a vendor's quota answer). One node keeps them in
/// memory (<see cref="InMemoryPushCounters"/>, the default); a cluster shares them (the host registers a Redis
/// implementation in <c>Parley:Cluster:Mode=Redis</c>) so that N nodes together grant a quota once, not N times, and
/// send at the configured rate together, not N times it.
/// Every increment is atomic and returns the new value; every key expires <c>timeToLive</c> after its last increment.
/// </summary>
public interface IPushCounters
{
    /// <summary>True when the counters are shared with other nodes (reads may then be cached briefly).</summary>
    bool Shared { get; }

    /// <summary>Adds <paramref name="delta"/> to each key (absent = 0) and returns the new values in key order; one round trip.</summary>
    ValueTask<long[]> IncrementAsync(IReadOnlyList<string> keys, long delta, TimeSpan timeToLive, CancellationToken cancellationToken = default);

    /// <summary>Adds to fields of one hash (absent = 0); one round trip.</summary>
    ValueTask HashIncrementAsync(string key, IReadOnlyList<KeyValuePair<string, long>> deltas, TimeSpan timeToLive, CancellationToken cancellationToken = default);

    /// <summary>Every field of one hash (empty when absent).</summary>
    ValueTask<IReadOnlyDictionary<string, long>> HashGetAllAsync(string key, CancellationToken cancellationToken = default);

    /// <summary>
    /// A vendor's send rate (ADR 0014 §6): takes one token from the bucket <paramref name="bucketKey"/> (refilled at
    /// <paramref name="ratePerSecond"/> up to <paramref name="burst"/>, on the callers' clock <paramref name="nowMs"/>)
    /// unless the pause <paramref name="pauseKey"/> lasts past <paramref name="nowMs"/>, or the block
    /// <paramref name="blockKey"/> (when given: a category a vendor's quota answer blocked) does (then no token is taken);
    /// one atomic round trip. Shared counters make it one bucket, one pause and one block per category for every node.
    /// </summary>
    ValueTask<PushTokenAnswer> TakeTokenAsync(string bucketKey, string pauseKey, string? blockKey, long nowMs, double ratePerSecond, int burst, CancellationToken cancellationToken = default);

    /// <summary>
    /// Raises the pause (or category block) <paramref name="pauseKey"/> to <paramref name="untilMs"/> (Unix ms); a later
    /// one is never shortened. A raised pause is kept <paramref name="timeToLive"/>.
    /// </summary>
    ValueTask PauseAsync(string pauseKey, long untilMs, TimeSpan timeToLive, CancellationToken cancellationToken = default);
}

/// <summary>
/// The answer of <see cref="IPushCounters.TakeTokenAsync"/>: <see cref="WaitMs"/> 0 when a token was taken; otherwise how
/// long to wait, for the pause to end (<see cref="Paused"/>) or for the next token. <see cref="BlockedUntilMs"/> (Unix ms,
/// 0 when not blocked): the category's block lasts until then, no token was taken.
/// </summary>
public readonly record struct PushTokenAnswer(long WaitMs, bool Paused, long BlockedUntilMs = 0);

/// <summary>One process's counters: a dictionary whose entries expire; expired entries are swept as the map grows.</summary>
public sealed class InMemoryPushCounters(TimeProvider time) : IPushCounters
{
    private readonly ConcurrentDictionary<string, Entry> _values = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, HashEntry> _hashes = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, Bucket> _buckets = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, long> _pauses = new(StringComparer.Ordinal);
    private int _sweepAt = 4096;

    public InMemoryPushCounters()
        : this(TimeProvider.System)
    {
    }

    public bool Shared => false;

    public ValueTask<long[]> IncrementAsync(IReadOnlyList<string> keys, long delta, TimeSpan timeToLive, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(keys);
        var now = time.GetUtcNow().ToUnixTimeMilliseconds();
        var expires = now + (long)timeToLive.TotalMilliseconds;
        var result = new long[keys.Count];
        for (var i = 0; i < keys.Count; i++)
        {
            var entry = _values.AddOrUpdate(
                keys[i],
                static (_, a) => new Entry(a.Delta, a.Expires),
                static (_, old, a) => new Entry((old.Expires > a.Now ? old.Value : 0) + a.Delta, a.Expires),
                (Delta: delta, Expires: expires, Now: now));
            result[i] = entry.Value;
        }

        Sweep(now);
        return ValueTask.FromResult(result);
    }

    public ValueTask HashIncrementAsync(string key, IReadOnlyList<KeyValuePair<string, long>> deltas, TimeSpan timeToLive, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(deltas);
        var now = time.GetUtcNow().ToUnixTimeMilliseconds();
        var hash = _hashes.GetOrAdd(key, _ => new HashEntry());
        lock (hash)
        {
            if (hash.Expires <= now)
            {
                hash.Fields.Clear();
            }

            foreach (var (field, delta) in deltas)
            {
                hash.Fields[field] = hash.Fields.GetValueOrDefault(field) + delta;
            }

            hash.Expires = now + (long)timeToLive.TotalMilliseconds;
        }

        return ValueTask.CompletedTask;
    }

    public ValueTask<IReadOnlyDictionary<string, long>> HashGetAllAsync(string key, CancellationToken cancellationToken = default)
    {
        if (!_hashes.TryGetValue(key, out var hash))
        {
            return ValueTask.FromResult<IReadOnlyDictionary<string, long>>(new Dictionary<string, long>());
        }

        lock (hash)
        {
            return ValueTask.FromResult<IReadOnlyDictionary<string, long>>(
                hash.Expires <= time.GetUtcNow().ToUnixTimeMilliseconds() ? new Dictionary<string, long>() : new Dictionary<string, long>(hash.Fields, StringComparer.Ordinal));
        }
    }

    public ValueTask<PushTokenAnswer> TakeTokenAsync(string bucketKey, string pauseKey, string? blockKey, long nowMs, double ratePerSecond, int burst, CancellationToken cancellationToken = default)
    {
        if (_pauses.TryGetValue(pauseKey, out var until) && until > nowMs)
        {
            return ValueTask.FromResult(new PushTokenAnswer(until - nowMs, Paused: true));
        }

        if (blockKey is not null && _pauses.TryGetValue(blockKey, out var blocked) && blocked > nowMs)
        {
            return ValueTask.FromResult(new PushTokenAnswer(0, Paused: false, BlockedUntilMs: blocked));
        }

        var bucket = _buckets.GetOrAdd(bucketKey, static (_, a) => new Bucket { Tokens = a.Burst, At = a.Now }, (Burst: (double)burst, Now: nowMs));
        lock (bucket)
        {
            return ValueTask.FromResult(new PushTokenAnswer(bucket.Take(nowMs, ratePerSecond, burst), Paused: false));
        }
    }

    public ValueTask PauseAsync(string pauseKey, long untilMs, TimeSpan timeToLive, CancellationToken cancellationToken = default)
    {
        _pauses.AddOrUpdate(pauseKey, static (_, until) => until, static (_, old, until) => Math.Max(old, until), untilMs);
        return ValueTask.CompletedTask;
    }

    // Amortised: only when the map doubled since the last sweep.
    private void Sweep(long now)
    {
        if (_values.Count < Volatile.Read(ref _sweepAt))
        {
            return;
        }

        foreach (var (key, entry) in _values)
        {
            if (entry.Expires <= now)
            {
                _values.TryRemove(new KeyValuePair<string, Entry>(key, entry));
            }
        }

        Volatile.Write(ref _sweepAt, Math.Max(4096, _values.Count * 2));
    }

    private sealed record Entry(long Value, long Expires);

    /// <summary>A token bucket; the same arithmetic as <c>RedisPushCounters</c>' script.</summary>
    internal sealed class Bucket
    {
        public double Tokens { get; set; }

        public long At { get; set; }

        /// <summary>0 when a token was taken, else the milliseconds until the next one. A clock behind <see cref="At"/> refills nothing.</summary>
        public long Take(long nowMs, double ratePerSecond, int burst)
        {
            if (nowMs > At)
            {
                Tokens = Math.Min(burst, Tokens + ((nowMs - At) * ratePerSecond / 1000.0));
                At = nowMs;
            }

            if (Tokens >= 1)
            {
                Tokens -= 1;
                return 0;
            }

            return (long)Math.Ceiling((1 - Tokens) * 1000.0 / ratePerSecond);
        }
    }

    private sealed class HashEntry
    {
        public Dictionary<string, long> Fields { get; } = new(StringComparer.Ordinal);

        public long Expires { get; set; }
    }
}
