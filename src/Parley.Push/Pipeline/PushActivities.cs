using System.Diagnostics;
using Parley.Abstractions.Push;

namespace Parley.Push;

/// <summary>
/// The push pipeline's spans, on the activity source "Parley.Push". They continue the message's trace: the submit span
/// is a child of the fan-out, and the span that was current when a push was composed is journaled with it (W3C
/// <c>traceparent</c> in the payload), so the vendor call and the arrival/click reports join the same trace, even
/// after a restart.
/// </summary>
public static class PushActivities
{
    public const string SourceName = "Parley.Push";

    public static ActivitySource Source { get; } = new(SourceName);

    /// <summary>The push submit span of one committed message, child of <paramref name="parent"/> (none when default).</summary>
    public static Activity? StartSubmit(ActivityContext parent) =>
        parent == default ? null : Source.StartActivity("push submit", ActivityKind.Internal, parent);

    /// <summary>The W3C trace id (32 hex) to journal for a message: the span's, else the parent's, else null.</summary>
    public static string? TraceIdOf(Activity? span, ActivityContext parent) =>
        span?.TraceId.ToHexString() ?? (parent == default ? null : parent.TraceId.ToHexString());

    /// <summary>The current span as a W3C traceparent, when it is recorded.</summary>
    internal static string? CurrentTraceParent() => Activity.Current is { Recorded: true, IdFormat: ActivityIdFormat.W3C } current ? current.Id : null;

    /// <summary>The vendor request span (kind Client), child of the span that composed the push.</summary>
    internal static Activity? StartVendorCall(PushVendor vendor, PushNotification notification, int attempt)
    {
        if (!Source.HasListeners() || !TryParent(notification.TraceParent, out var parent))
        {
            return null;
        }

        var activity = Source.StartActivity("push vendor " + PushMetrics.VendorTag(vendor), ActivityKind.Client, parent);
        activity?.SetTag("push.id", notification.PushId);
        activity?.SetTag("push.vendor", PushMetrics.VendorTag(vendor));
        activity?.SetTag("push.category", PushMetrics.CategoryTag(notification.Category));
        activity?.SetTag("push.attempt", attempt);
        return activity;
    }

    /// <summary>An arrival or click report span, in the trace of the push it reports on.</summary>
    internal static Activity? StartReport(string kind, string pushId, PushNotification? notification)
    {
        if (!Source.HasListeners() || notification is null || !TryParent(notification.TraceParent, out var parent))
        {
            return null;
        }

        var activity = Source.StartActivity("push " + kind, ActivityKind.Server, parent);
        activity?.SetTag("push.id", pushId);
        return activity;
    }

    private static bool TryParent(string? traceParent, out ActivityContext parent)
    {
        parent = default;
        return !string.IsNullOrEmpty(traceParent) && ActivityContext.TryParse(traceParent, null, isRemote: true, out parent);
    }
}
