using System.Diagnostics.Metrics;

namespace Parley.Metrics.Prometheus.Internal;

internal static class InstrumentStateFactory
{
    // Prometheus client defaults for durations in seconds (also ASP.NET Core's advice).
    internal static readonly double[] DefaultSecondsBounds =
        [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10];

    // OpenTelemetry SDK default explicit bounds, made for millisecond durations.
    internal static readonly double[] DefaultBounds =
        [0, 5, 10, 25, 50, 75, 100, 250, 500, 750, 1000, 2500, 5000, 7500, 10000];

    /// <summary>Creates the state for a supported instrument, or null for an unknown instrument type.</summary>
    public static InstrumentState? Create(Instrument instrument, int limit)
    {
        var type = instrument.GetType();
        if (!type.IsGenericType)
        {
            return null;
        }
        var definition = type.GetGenericTypeDefinition();
        var valueType = type.GetGenericArguments()[0];
        var integral = valueType == typeof(long) || valueType == typeof(int) || valueType == typeof(short) || valueType == typeof(byte);

        if (definition == typeof(Counter<>))
        {
            return new SumState(instrument, Name(instrument, MetricKind.Counter), MetricKind.Counter, integral, limit);
        }
        if (definition == typeof(UpDownCounter<>))
        {
            return new SumState(instrument, Name(instrument, MetricKind.Gauge), MetricKind.Gauge, integral, limit);
        }
        if (definition == typeof(ObservableCounter<>))
        {
            return new LastValueState(instrument, Name(instrument, MetricKind.Counter), MetricKind.Counter, integral, limit);
        }
        if (definition == typeof(ObservableUpDownCounter<>) || definition == typeof(ObservableGauge<>) || definition == typeof(Gauge<>))
        {
            return new LastValueState(instrument, Name(instrument, MetricKind.Gauge), MetricKind.Gauge, integral, limit);
        }
        if (definition == typeof(Histogram<>))
        {
            var bounds = AdvisedBounds(instrument) ?? DefaultBoundsFor(instrument.Unit);
            return new HistogramState(instrument, Name(instrument, MetricKind.Histogram), integral, bounds, limit);
        }
        return null;
    }

    internal static double[] DefaultBoundsFor(string? unit) =>
        string.Equals(unit, "s", StringComparison.Ordinal) ? DefaultSecondsBounds : DefaultBounds;

    private static string Name(Instrument instrument, MetricKind kind) =>
        PrometheusNaming.MetricName(instrument.Name, instrument.Unit, kind);

    private static double[]? AdvisedBounds(Instrument instrument) => instrument switch
    {
        Instrument<double> i => Normalize(i.Advice?.HistogramBucketBoundaries, static v => v),
        Instrument<float> i => Normalize(i.Advice?.HistogramBucketBoundaries, static v => v),
        Instrument<long> i => Normalize(i.Advice?.HistogramBucketBoundaries, static v => v),
        Instrument<int> i => Normalize(i.Advice?.HistogramBucketBoundaries, static v => v),
        Instrument<short> i => Normalize(i.Advice?.HistogramBucketBoundaries, static v => v),
        Instrument<byte> i => Normalize(i.Advice?.HistogramBucketBoundaries, static v => v),
        Instrument<decimal> i => Normalize(i.Advice?.HistogramBucketBoundaries, static v => (double)v),
        _ => null,
    };

    private static double[]? Normalize<T>(IReadOnlyList<T>? bounds, Func<T, double> convert)
    {
        if (bounds is null)
        {
            return null;
        }
        // The API already requires ascending bounds; drop anything that would break "le" order anyway.
        var result = new List<double>(bounds.Count);
        foreach (var bound in bounds)
        {
            var value = convert(bound);
            if (!double.IsNaN(value) && !double.IsPositiveInfinity(value) && (result.Count == 0 || value > result[^1]))
            {
                result.Add(value);
            }
        }
        return [.. result];
    }
}
