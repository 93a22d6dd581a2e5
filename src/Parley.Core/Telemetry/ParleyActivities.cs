using System.Diagnostics;

namespace Parley.Core.Telemetry;

/// <summary>
/// Parley's spans, on the activity source "Parley": one trace per message, rooted at the gateway request and continued
/// through the grain, the commit, the fan-out and the push pipeline (see docs/observability.md).
/// </summary>
public static class ParleyActivities
{
    public const string SourceName = "Parley";

    /// <summary>Tag that marks a span allowed to start a new trace (the sampler drops other parentless spans).</summary>
    public const string RootTag = "parley.root";

    private static readonly KeyValuePair<string, object?>[] RootTags = [new(RootTag, true)];

    public static ActivitySource Source { get; } = new(SourceName);

    /// <summary>
    /// Starts the root span of one client request. The connection's own HTTP request activity (which lives as long as
    /// the socket) is deliberately not the parent: each message gets its own trace.
    /// </summary>
    public static Activity? StartRequest(string operation)
    {
        if (!Source.HasListeners())
        {
            return null;
        }

        Activity.Current = null;
        var activity = Source.StartActivity("gateway " + operation, ActivityKind.Server, parentContext: default, RootTags);
        activity?.SetTag("parley.request", operation);
        return activity;
    }

    /// <summary>Starts a span in the trace of <paramref name="parent"/> (captured on another loop); none when it is default.</summary>
    public static Activity? StartChild(string name, ActivityContext parent) =>
        parent == default ? null : Source.StartActivity(name, ActivityKind.Internal, parent);

    /// <summary>The context of the current span, or default when nothing is recorded.</summary>
    public static ActivityContext CurrentContext() => Activity.Current is { Recorded: true } current ? current.Context : default;
}
