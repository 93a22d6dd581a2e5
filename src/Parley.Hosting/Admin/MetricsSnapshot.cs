using System.Collections.Concurrent;
using System.Diagnostics.Metrics;

namespace Parley.Hosting.Admin;

/// <summary>
/// Running totals of Parley's own instruments (meters named "Parley*"), summed over tags, for the admin console's key
/// figures. Counters and up-down counters keep their sum, histograms their count and sum. Independent of any exporter.
/// </summary>
internal sealed class MetricsSnapshot : IDisposable
{
    private readonly MeterListener _listener = new();
    private readonly ConcurrentDictionary<string, Totals> _totals = new(StringComparer.Ordinal);

    public MetricsSnapshot()
    {
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Meter.Name.StartsWith("Parley", StringComparison.Ordinal))
            {
                listener.EnableMeasurementEvents(instrument, _totals.GetOrAdd(instrument.Name, _ => new Totals(instrument is Histogram<double> or Histogram<int> or Histogram<long>)));
            }
        };
        _listener.SetMeasurementEventCallback<long>((_, value, _, state) => ((Totals)state!).Add(value));
        _listener.SetMeasurementEventCallback<int>((_, value, _, state) => ((Totals)state!).Add(value));
        _listener.SetMeasurementEventCallback<double>((_, value, _, state) => ((Totals)state!).Add(value));
        _listener.Start();
    }

    /// <summary>Instrument name → (value, count): value is the sum; count the number of measurements (histograms).</summary>
    public IReadOnlyDictionary<string, MetricTotal> Read() =>
        _totals.OrderBy(p => p.Key, StringComparer.Ordinal).ToDictionary(p => p.Key, p => p.Value.Read(), StringComparer.Ordinal);

    public void Dispose() => _listener.Dispose();

    private sealed class Totals(bool histogram)
    {
        private readonly Lock _gate = new();
        private double _sum;
        private long _count;

        public void Add(double value)
        {
            lock (_gate)
            {
                _sum += value;
                _count++;
            }
        }

        public MetricTotal Read()
        {
            lock (_gate)
            {
                return new MetricTotal(_sum, histogram ? _count : null);
            }
        }
    }
}

/// <param name="Value">Sum of the measurements (a counter's total, an up-down counter's current value).</param>
/// <param name="Count">For histograms: how many measurements.</param>
public sealed record MetricTotal(double Value, long? Count);
