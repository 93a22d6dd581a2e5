namespace Parley.Metrics.Prometheus;

/// <summary>Options for <see cref="PrometheusMeterCollector"/>.</summary>
public sealed class PrometheusMetricsOptions
{
    /// <summary>Prefixes used when <see cref="MeterPrefixes"/> is left empty.</summary>
    public static IReadOnlyList<string> DefaultMeterPrefixes { get; } =
        ["Parley", "System.Runtime", "Microsoft.AspNetCore.Server.Kestrel"];

    /// <summary>
    /// Meter name prefixes to export. A meter matches a prefix when its name equals it or
    /// continues it after a dot ("Parley" matches "Parley" and "Parley.Gateway", not "ParleyX").
    /// Empty means <see cref="DefaultMeterPrefixes"/>.
    /// </summary>
    public IList<string> MeterPrefixes { get; } = new List<string>();

    /// <summary>
    /// Most distinct tag sets kept per instrument; measurements for further tag sets go to one
    /// series labelled <c>otel_metric_overflow="true"</c> so a tag with unbounded values cannot exhaust memory.
    /// </summary>
    public int MaxSeriesPerInstrument { get; set; } = 2000;
}
