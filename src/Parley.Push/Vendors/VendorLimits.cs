using System.Collections.Concurrent;
using Parley.Abstractions.Push;

namespace Parley.Push.Vendors;

/// <summary>
/// Per-vendor flow state: a token bucket for QPS, a pause (vendor-wide Retry-After), and the quotas per category (per
/// app per UTC day, and per device per UTC day). The bucket, the pause and the day's counts are in the pipeline's
/// <see cref="IPushCounters"/>: in memory on one node (a restart forgets the day's counts, which errs on the side of
/// sending; the vendor's own quota answer then pauses the category), in Redis in a cluster (ADR 0014 §6), so the nodes
/// together send at the configured rate and all respect a pause one of them was told. The pause is also kept here, so a
/// node that knows it asks no one until it ends. A category the vendor blocked (its quota answer: the day's quota of that
/// category is used up) is shared the same way: the node told blocks it here and in the counters, and every node learns
/// it with its next token for a push of that category (the same round trip), then asks no one until it ends.
/// </summary>
public sealed class VendorLimits
{
    private readonly TimeProvider _time;
    private readonly double _rate;
    private readonly int _burst;
    private readonly IReadOnlyDictionary<PushCategory, long> _dailyQuota;
    private readonly IReadOnlyDictionary<PushCategory, int> _perDeviceQuota;
    private readonly ConcurrentDictionary<PushCategory, long> _categoryBlockedUntil = new();
    private long _pausedUntil;

    public VendorLimits(PushVendorOptions options, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(options);
        _time = time;
        _rate = Math.Max(0.001, options.RatePerSecond);
        _burst = Math.Max(1, options.RateBurst);
        _dailyQuota = new Dictionary<PushCategory, long>(options.DailyQuota);
        _perDeviceQuota = new Dictionary<PushCategory, int>(options.PerDeviceDailyQuota);
    }

    /// <summary>Unix ms until which the whole vendor is paused (Retry-After with vendor scope), as far as this node knows.</summary>
    public long PausedUntil => Interlocked.Read(ref _pausedUntil);

    /// <summary>Pauses the vendor on this node (see <see cref="PauseAsync"/> for every node).</summary>
    public void Pause(TimeSpan delay) => RaisePause(_time.GetUtcNow().Add(delay).ToUnixTimeMilliseconds());

    /// <summary>
    /// Pauses the vendor here at once, then in <paramref name="counters"/> (every node of a cluster): their next
    /// <see cref="TakeTokenAsync"/> answers the pause. Returns when the shared pause is written.
    /// </summary>
    public async ValueTask PauseAsync(IPushCounters counters, PushVendor vendor, TimeSpan delay, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(counters);
        var until = _time.GetUtcNow().Add(delay).ToUnixTimeMilliseconds();
        RaisePause(until);
        await counters.PauseAsync(PauseKey(vendor), until, delay + TimeSpan.FromMinutes(1), cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Takes one token from the vendor's bucket (shared by the nodes when <paramref name="counters"/> are), or returns how
    /// long to wait: for the next token, or for a pause (this node's, or one another node was told) to end. With
    /// <paramref name="blockable"/> (a first attempt of a category a vendor's quota answer may block), a block of that
    /// category (this node's, or one another node was told) answers <see cref="VendorGate.Blocked"/> instead, and no token
    /// is taken: the push is not to be sent.
    /// </summary>
    public async ValueTask<VendorGate> TakeTokenAsync(IPushCounters counters, PushVendor vendor, PushCategory? blockable, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(counters);
        var now = _time.GetUtcNow().ToUnixTimeMilliseconds();
        var paused = PausedUntil;
        if (paused > now)
        {
            return new VendorGate(TimeSpan.FromMilliseconds(paused - now), Blocked: false);
        }

        if (blockable is { } category && CategoryBlockedUntil(category) > now)
        {
            return new VendorGate(TimeSpan.Zero, Blocked: true);
        }

        var answer = await counters.TakeTokenAsync(BucketKey(vendor), PauseKey(vendor), blockable is { } c ? BlockKey(vendor, c) : null, now, _rate, _burst, cancellationToken).ConfigureAwait(false);
        if (answer.Paused)
        {
            RaisePause(now + answer.WaitMs); // learnt from another node: no more round trips until it ends
        }

        if (answer.BlockedUntilMs > now && blockable is { } blocked)
        {
            RaiseBlock(blocked, answer.BlockedUntilMs); // learnt from another node: its pushes of the category are dropped here at once
            return new VendorGate(TimeSpan.Zero, Blocked: true);
        }

        return new VendorGate(TimeSpan.FromMilliseconds(answer.WaitMs), Blocked: false);
    }

    // The bucket and the pause of a vendor share a Redis Cluster hash tag ({vendor}): one script touches both.
    private static string BucketKey(PushVendor vendor) => FormattableString.Invariant($"rate:{{{vendor}}}");

    private static string PauseKey(PushVendor vendor) => FormattableString.Invariant($"pause:{{{vendor}}}");

    // A category's block shares the vendor's hash tag: the token script reads it with the bucket and the pause.
    private static string BlockKey(PushVendor vendor, PushCategory category) => FormattableString.Invariant($"block:{{{vendor}}}:{category}");

    private void RaisePause(long until)
    {
        long current;
        while ((current = Interlocked.Read(ref _pausedUntil)) < until && Interlocked.CompareExchange(ref _pausedUntil, until, current) != current)
        {
        }
    }

    /// <summary>
    /// Reserves quota for one push: false (with the reason) when the vendor blocked the category, or the app or device
    /// quota for the category is used up today (UTC). The day's counts are in <paramref name="counters"/>, keyed by vendor,
    /// category and day (and device): shared by every node in a cluster, so the nodes together grant a quota once. No
    /// round trip when the category has no quota. The device's key (<c>user\ndevice</c>) is made only when the category
    /// has a per-device quota (issue 17, stop 45: it was a new string per push, quota or not).
    /// </summary>
    public async ValueTask<(bool Reserved, string Reason)> ReserveQuotaAsync(IPushCounters counters, PushVendor vendor, PushCategory category, string userId, string deviceId, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(counters);
        var now = _time.GetUtcNow();
        var day = now.ToUnixTimeMilliseconds() / 86_400_000;
        if (_categoryBlockedUntil.TryGetValue(category, out var blocked) && blocked > now.ToUnixTimeMilliseconds())
        {
            return (false, "vendor_quota");
        }

        var hasApp = _dailyQuota.TryGetValue(category, out var appLimit);
        var hasDevice = _perDeviceQuota.TryGetValue(category, out var deviceLimit);
        if (!hasApp && !hasDevice)
        {
            return (true, "");
        }

        var keys = new List<string>(2);
        if (hasApp)
        {
            keys.Add(FormattableString.Invariant($"quota:{vendor}:{category}:{day}"));
        }

        if (hasDevice)
        {
            keys.Add(FormattableString.Invariant($"dquota:{vendor}:{category}:{day}:{userId + "\n" + deviceId}"));
        }

        // Both counted in one round trip; a day's key outlives its day by one more (UTC days, any node's clock skew).
        var counts = await counters.IncrementAsync(keys, 1, TimeSpan.FromDays(2), cancellationToken).ConfigureAwait(false);
        if (hasApp && counts[0] > appLimit)
        {
            return (false, "app_quota");
        }

        if (hasDevice && counts[^1] > deviceLimit)
        {
            return (false, "device_quota");
        }

        return (true, "");
    }

    /// <summary>The vendor answered "quota exceeded" for a category: block it on this node until the delay or the next UTC day.</summary>
    public void BlockCategory(PushCategory category, TimeSpan? delay) => RaiseBlock(category, BlockEnd(delay));

    /// <summary>
    /// Blocks the category here at once (as <see cref="BlockCategory"/>), then in <paramref name="counters"/> (every node
    /// of a cluster): their next <see cref="TakeTokenAsync"/> for a push of the category answers the block. A later block
    /// is never shortened. Returns when the shared block is written.
    /// </summary>
    public async ValueTask BlockCategoryAsync(IPushCounters counters, PushVendor vendor, PushCategory category, TimeSpan? delay, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(counters);
        var until = BlockEnd(delay);
        RaiseBlock(category, until);
        var keep = TimeSpan.FromMilliseconds(Math.Max(0, until - _time.GetUtcNow().ToUnixTimeMilliseconds())) + TimeSpan.FromMinutes(1);
        await counters.PauseAsync(BlockKey(vendor, category), until, keep, cancellationToken).ConfigureAwait(false);
    }

    public long CategoryBlockedUntil(PushCategory category) => _categoryBlockedUntil.TryGetValue(category, out var v) ? v : 0;

    // Until the vendor's delay, or without one (a daily quota) the next UTC day.
    private long BlockEnd(TimeSpan? delay)
    {
        var now = _time.GetUtcNow().ToUnixTimeMilliseconds();
        return delay is { } d ? now + (long)d.TotalMilliseconds : ((now / 86_400_000) + 1) * 86_400_000;
    }

    private void RaiseBlock(PushCategory category, long until) =>
        _categoryBlockedUntil.AddOrUpdate(category, static (_, end) => end, static (_, old, end) => Math.Max(old, end), until);
}

/// <summary>
/// The answer of <see cref="VendorLimits.TakeTokenAsync"/>: <see cref="Blocked"/> when the push's category is blocked by a
/// vendor quota answer (not to be sent); otherwise <see cref="Wait"/> zero when a token was taken, else how long to wait.
/// </summary>
public readonly record struct VendorGate(TimeSpan Wait, bool Blocked);
