using System.Collections.Concurrent;
using Parley.Abstractions.Push;

namespace Parley.Push.Vendors;

/// <summary>
/// Per-vendor flow state: a token bucket for QPS, a pause (vendor-wide Retry-After), and a quota ledger per category
/// (per app per UTC day, and per device per UTC day). In memory: a restart forgets the day's counts, which errs on the
/// side of sending (the vendor's own quota answer then pauses the category).
/// </summary>
public sealed class VendorLimits
{
    private readonly TimeProvider _time;
    private readonly double _rate;
    private readonly double _burst;
    private readonly Lock _lock = new();
    private readonly IReadOnlyDictionary<PushCategory, long> _dailyQuota;
    private readonly IReadOnlyDictionary<PushCategory, int> _perDeviceQuota;
    private readonly ConcurrentDictionary<(PushCategory, long Day), long> _appCounts = new();
    private readonly ConcurrentDictionary<(PushCategory, string Device, long Day), int> _deviceCounts = new();
    private readonly ConcurrentDictionary<PushCategory, long> _categoryBlockedUntil = new();
    private double _tokens;
    private long _lastRefill;
    private long _pausedUntil;

    public VendorLimits(PushVendorOptions options, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(options);
        _time = time;
        _rate = Math.Max(0.001, options.RatePerSecond);
        _burst = Math.Max(1, options.RateBurst);
        _tokens = _burst;
        _lastRefill = time.GetUtcNow().ToUnixTimeMilliseconds();
        _dailyQuota = new Dictionary<PushCategory, long>(options.DailyQuota);
        _perDeviceQuota = new Dictionary<PushCategory, int>(options.PerDeviceDailyQuota);
    }

    /// <summary>Unix ms until which the whole vendor is paused (Retry-After with vendor scope).</summary>
    public long PausedUntil => Interlocked.Read(ref _pausedUntil);

    public void Pause(TimeSpan delay)
    {
        var until = _time.GetUtcNow().Add(delay).ToUnixTimeMilliseconds();
        long current;
        while ((current = Interlocked.Read(ref _pausedUntil)) < until && Interlocked.CompareExchange(ref _pausedUntil, until, current) != current)
        {
        }
    }

    /// <summary>Takes one token, or returns how long to wait for the next one.</summary>
    public TimeSpan TryTakeToken()
    {
        lock (_lock)
        {
            var now = _time.GetUtcNow().ToUnixTimeMilliseconds();
            _tokens = Math.Min(_burst, _tokens + ((now - _lastRefill) * _rate / 1000.0));
            _lastRefill = now;
            if (_tokens >= 1)
            {
                _tokens -= 1;
                return TimeSpan.Zero;
            }

            return TimeSpan.FromMilliseconds(Math.Ceiling((1 - _tokens) * 1000.0 / _rate));
        }
    }

    /// <summary>Reserves quota for one push; false (with the reason) when the app or device quota for the category is used up.</summary>
    public bool TryReserveQuota(PushCategory category, string deviceKey, out string reason)
    {
        var now = _time.GetUtcNow();
        var day = now.ToUnixTimeMilliseconds() / 86_400_000;
        if (_categoryBlockedUntil.TryGetValue(category, out var blocked) && blocked > now.ToUnixTimeMilliseconds())
        {
            reason = "vendor_quota";
            return false;
        }

        if (_dailyQuota.TryGetValue(category, out var appLimit) && _appCounts.AddOrUpdate((category, day), 1, (_, v) => v + 1) > appLimit)
        {
            reason = "app_quota";
            return false;
        }

        if (_perDeviceQuota.TryGetValue(category, out var deviceLimit) && _deviceCounts.AddOrUpdate((category, deviceKey, day), 1, (_, v) => v + 1) > deviceLimit)
        {
            reason = "device_quota";
            return false;
        }

        reason = "";
        return true;
    }

    /// <summary>The vendor answered "quota exceeded" for a category: block it until the delay or the next UTC day.</summary>
    public void BlockCategory(PushCategory category, TimeSpan? delay)
    {
        var now = _time.GetUtcNow().ToUnixTimeMilliseconds();
        var until = delay is { } d ? now + (long)d.TotalMilliseconds : ((now / 86_400_000) + 1) * 86_400_000;
        _categoryBlockedUntil[category] = until;
    }

    public long CategoryBlockedUntil(PushCategory category) => _categoryBlockedUntil.TryGetValue(category, out var v) ? v : 0;
}
