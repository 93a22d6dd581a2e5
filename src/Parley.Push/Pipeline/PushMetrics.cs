using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using Parley.Abstractions.Push;

namespace Parley.Push;

/// <summary>Pipeline stages, in order. Each counts what it passes and what it drops (with a reason).</summary>
public static class PushStages
{
    public const string Resolve = "resolve";
    public const string Policy = "policy";
    public const string Compose = "compose";
    public const string Coalesce = "coalesce";
    public const string Lanes = "lanes";
    public const string Vendor = "vendor";
    public const string Results = "results";
    public const string Receipts = "receipts";
}

/// <summary>Funnel steps per vendor × category.</summary>
public static class PushFunnelSteps
{
    public const string Planned = "planned";
    public const string Filtered = "filtered";
    public const string Sent = "sent";
    public const string Accepted = "accepted";
    public const string Arrived = "arrived";
    public const string Clicked = "clicked";
}

/// <summary>
/// The registry of push metric names, on the meter "Parley.Push". Tags: vendor, category, stage, reason. Also keeps an
/// in-process funnel snapshot (<see cref="FunnelSnapshot"/>) for the admin endpoint and tests.
/// </summary>
public sealed class PushMetrics : IDisposable
{
    public const string MeterName = "Parley.Push";

    private readonly ConcurrentDictionary<(PushVendor Vendor, PushCategory Category, string Step, string Reason), long> _funnel = new();

    public PushMetrics(IMeterFactory meterFactory)
    {
        ArgumentNullException.ThrowIfNull(meterFactory);
        Meter = meterFactory.Create(MeterName);
        StagePassed = Meter.CreateCounter<long>("parley.push.stage.passed", "{push}", "Device-pushes a stage passed on, by stage, vendor, category.");
        StageDropped = Meter.CreateCounter<long>("parley.push.stage.dropped", "{push}", "Device-pushes a stage dropped or delayed, by stage, vendor, category, reason.");
        Funnel = Meter.CreateCounter<long>("parley.push.funnel", "{push}", "Funnel per vendor × category × step (planned, filtered, sent, accepted, arrived, clicked).");
        VendorResults = Meter.CreateCounter<long>("parley.push.vendor.results", "{request}", "Vendor answers by outcome class and reason.");
        VendorDuration = Meter.CreateHistogram("parley.push.vendor.duration", "s", "Vendor request duration.",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10] });
        TokensInvalidated = Meter.CreateCounter<long>("parley.push.tokens.invalidated", "{token}", "Tokens deleted after an allow-listed vendor error.");
        ConfigAlarms = Meter.CreateCounter<long>("parley.push.config.alarms", "{alarm}", "Whole-app failures (every token invalid, auth errors): nothing deleted, operator must look.");
        DeadLetters = Meter.CreateCounter<long>("parley.push.dead_letters", "{push}", "Pushes dead-lettered, by vendor and reason.");
        Retries = Meter.CreateCounter<long>("parley.push.retries", "{push}", "Pushes rescheduled for another attempt.");
        AuthRefreshes = Meter.CreateCounter<long>("parley.push.auth.refreshes", "{token}", "Vendor auth tokens (JWT/OAuth) minted.");
    }

    public Meter Meter { get; }

    public Counter<long> StagePassed { get; }

    public Counter<long> StageDropped { get; }

    public Counter<long> Funnel { get; }

    public Counter<long> VendorResults { get; }

    public Histogram<double> VendorDuration { get; }

    public Counter<long> TokensInvalidated { get; }

    public Counter<long> ConfigAlarms { get; }

    public Counter<long> DeadLetters { get; }

    public Counter<long> Retries { get; }

    public Counter<long> AuthRefreshes { get; }

    public void Passed(string stage, PushVendor vendor, PushCategory category) =>
        StagePassed.Add(1, new("stage", stage), new("vendor", VendorTag(vendor)), new("category", CategoryTag(category)));

    public void Dropped(string stage, PushVendor vendor, PushCategory category, string reason) =>
        StageDropped.Add(1, new("stage", stage), new("vendor", VendorTag(vendor)), new("category", CategoryTag(category)), new("reason", reason));

    public void FunnelStep(PushVendor vendor, PushCategory category, string step, string reason = "")
    {
        _funnel.AddOrUpdate((vendor, category, step, reason), 1, (_, v) => v + 1);
        Funnel.Add(1, new("vendor", VendorTag(vendor)), new("category", CategoryTag(category)), new("step", step), new("reason", reason));
    }

    /// <summary>Funnel counts since start, keyed by vendor, category, step and (for filtered) reason.</summary>
    public IReadOnlyList<PushFunnelEntry> FunnelSnapshot() =>
        [.. _funnel.Select(kv => new PushFunnelEntry(kv.Key.Vendor, kv.Key.Category, kv.Key.Step, kv.Key.Reason, kv.Value))
            .OrderBy(e => e.Vendor).ThenBy(e => e.Category).ThenBy(e => e.Step, StringComparer.Ordinal).ThenBy(e => e.Reason, StringComparer.Ordinal)];

    public long FunnelCount(PushVendor vendor, PushCategory category, string step) =>
        _funnel.Where(kv => kv.Key.Vendor == vendor && kv.Key.Category == category && kv.Key.Step == step).Sum(kv => kv.Value);

    public static string VendorTag(PushVendor vendor) => vendor switch
    {
        PushVendor.Apns => "apns",
        PushVendor.Fcm => "fcm",
        PushVendor.Huawei => "huawei",
        PushVendor.Honor => "honor",
        PushVendor.Xiaomi => "xiaomi",
        PushVendor.Oppo => "oppo",
        PushVendor.Vivo => "vivo",
        PushVendor.WebPush => "webpush",
        _ => "unknown",
    };

    public static string CategoryTag(PushCategory category) => category switch
    {
        PushCategory.Im => "im",
        PushCategory.Service => "service",
        PushCategory.FollowedContent => "content",
        PushCategory.Marketing => "marketing",
        _ => "unknown",
    };

    public void Dispose() => Meter.Dispose();
}

/// <summary>One funnel cell.</summary>
public sealed record PushFunnelEntry(PushVendor Vendor, PushCategory Category, string Step, string Reason, long Count);
