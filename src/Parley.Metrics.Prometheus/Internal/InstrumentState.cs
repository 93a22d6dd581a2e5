using System.Diagnostics.Metrics;
using System.Text;

namespace Parley.Metrics.Prometheus.Internal;

/// <summary>Aggregation state of one instrument. Integral instruments use the long paths only.</summary>
internal abstract class InstrumentState(Instrument instrument, string name, MetricKind kind, bool integral)
{
    public Instrument Instrument { get; } = instrument;

    public string Name { get; } = name;

    public MetricKind Kind { get; } = kind;

    public bool Integral { get; } = integral;

    /// <summary>Set before observable callbacks run so the series they report can be told from stale ones.</summary>
    public long CurrentEpoch { get; set; }

    public abstract void Record(long value, ReadOnlySpan<KeyValuePair<string, object?>> tags);

    public abstract void Record(double value, ReadOnlySpan<KeyValuePair<string, object?>> tags);

    public abstract void WriteSeries(StringBuilder sb);

    protected static void AppendSample(StringBuilder sb, string name, string labels, string value)
    {
        sb.Append(name);
        if (labels.Length > 0)
        {
            sb.Append('{').Append(labels).Append('}');
        }
        sb.Append(' ').Append(value).Append('\n');
    }

    protected static void AddDouble(ref double target, double value)
    {
        var current = Volatile.Read(ref target);
        while (true)
        {
            var seen = Interlocked.CompareExchange(ref target, current + value, current);
            if (seen.Equals(current))
            {
                return;
            }
            current = seen;
        }
    }
}

internal sealed class ValueSeries(string labels) : Series(labels)
{
    public long Long;
    public double Double;
}

/// <summary>Counter and UpDownCounter: measurements are deltas, added atomically.</summary>
internal sealed class SumState : InstrumentState
{
    private readonly SeriesMap<ValueSeries> _series;

    public SumState(Instrument instrument, string name, MetricKind kind, bool integral, int limit)
        : base(instrument, name, kind, integral) =>
        _series = new SeriesMap<ValueSeries>(static labels => new ValueSeries(labels), limit);

    public override void Record(long value, ReadOnlySpan<KeyValuePair<string, object?>> tags) =>
        Interlocked.Add(ref _series.Get(tags).Long, value);

    public override void Record(double value, ReadOnlySpan<KeyValuePair<string, object?>> tags) =>
        AddDouble(ref _series.Get(tags).Double, value);

    public override void WriteSeries(StringBuilder sb)
    {
        foreach (var series in _series.Snapshot())
        {
            var value = Integral
                ? Interlocked.Read(ref series.Long).ToString(System.Globalization.CultureInfo.InvariantCulture)
                : PrometheusNaming.FormatDouble(Volatile.Read(ref series.Double));
            AppendSample(sb, Name, series.Labels, value);
        }
    }
}

/// <summary>
/// Gauge&lt;T&gt; and every observable instrument: measurements are the current value (observable
/// counters report their cumulative total). Observable series not reported in the latest scrape are omitted.
/// </summary>
internal sealed class LastValueState : InstrumentState
{
    private readonly SeriesMap<ValueSeries> _series;

    public LastValueState(Instrument instrument, string name, MetricKind kind, bool integral, int limit)
        : base(instrument, name, kind, integral) =>
        _series = new SeriesMap<ValueSeries>(static labels => new ValueSeries(labels), limit);

    public override void Record(long value, ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        var series = _series.Get(tags);
        Interlocked.Exchange(ref series.Long, value);
        Volatile.Write(ref series.ObservedEpoch, CurrentEpoch);
    }

    public override void Record(double value, ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        var series = _series.Get(tags);
        Interlocked.Exchange(ref series.Double, value);
        Volatile.Write(ref series.ObservedEpoch, CurrentEpoch);
    }

    public override void WriteSeries(StringBuilder sb)
    {
        foreach (var series in _series.Snapshot())
        {
            if (Instrument.IsObservable && Volatile.Read(ref series.ObservedEpoch) != CurrentEpoch)
            {
                continue;
            }
            var value = Integral
                ? Interlocked.Read(ref series.Long).ToString(System.Globalization.CultureInfo.InvariantCulture)
                : PrometheusNaming.FormatDouble(Volatile.Read(ref series.Double));
            AppendSample(sb, Name, series.Labels, value);
        }
    }
}

internal sealed class HistogramSeries(string labels, int buckets) : Series(labels)
{
    /// <summary>Per-bucket (not cumulative) counts; the last one is the +Inf overflow bucket.</summary>
    public readonly long[] Counts = new long[buckets];
    public long SumLong;
    public double SumDouble;
}

/// <summary>Histogram&lt;T&gt; with explicit bucket upper bounds (inclusive, as Prometheus' <c>le</c>).</summary>
internal sealed class HistogramState : InstrumentState
{
    private readonly double[] _bounds;
    private readonly string[] _boundLabels;
    private readonly SeriesMap<HistogramSeries> _series;

    public HistogramState(Instrument instrument, string name, bool integral, double[] bounds, int limit)
        : base(instrument, name, MetricKind.Histogram, integral)
    {
        _bounds = bounds;
        _boundLabels = Array.ConvertAll(bounds, PrometheusNaming.FormatDouble);
        var buckets = bounds.Length + 1;
        _series = new SeriesMap<HistogramSeries>(labels => new HistogramSeries(labels, buckets), limit);
    }

    public IReadOnlyList<double> Bounds => _bounds;

    public override void Record(long value, ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        var series = _series.Get(tags);
        Interlocked.Increment(ref series.Counts[BucketIndex(value)]);
        Interlocked.Add(ref series.SumLong, value);
    }

    public override void Record(double value, ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        if (double.IsNaN(value))
        {
            return;
        }
        var series = _series.Get(tags);
        Interlocked.Increment(ref series.Counts[BucketIndex(value)]);
        AddDouble(ref series.SumDouble, value);
    }

    public override void WriteSeries(StringBuilder sb)
    {
        var bucketName = Name + "_bucket";
        foreach (var series in _series.Snapshot())
        {
            var prefix = series.Labels.Length > 0 ? series.Labels + ",le=\"" : "le=\"";
            long cumulative = 0;
            for (var i = 0; i < series.Counts.Length; i++)
            {
                cumulative += Interlocked.Read(ref series.Counts[i]);
                var le = i < _boundLabels.Length ? _boundLabels[i] : "+Inf";
                AppendSample(sb, bucketName, prefix + le + "\"", cumulative.ToString(System.Globalization.CultureInfo.InvariantCulture));
            }
            var sum = Integral
                ? Interlocked.Read(ref series.SumLong).ToString(System.Globalization.CultureInfo.InvariantCulture)
                : PrometheusNaming.FormatDouble(Volatile.Read(ref series.SumDouble));
            AppendSample(sb, Name + "_sum", series.Labels, sum);
            // The count is the +Inf bucket so the two agree even while recording goes on.
            AppendSample(sb, Name + "_count", series.Labels, cumulative.ToString(System.Globalization.CultureInfo.InvariantCulture));
        }
    }

    private int BucketIndex(double value)
    {
        var bounds = _bounds;
        if (bounds.Length <= 16)
        {
            var i = 0;
            while (i < bounds.Length && value > bounds[i])
            {
                i++;
            }
            return i;
        }
        // First bound >= value.
        int lo = 0, hi = bounds.Length;
        while (lo < hi)
        {
            var mid = (lo + hi) >>> 1;
            if (value > bounds[mid])
            {
                lo = mid + 1;
            }
            else
            {
                hi = mid;
            }
        }
        return lo;
    }
}
