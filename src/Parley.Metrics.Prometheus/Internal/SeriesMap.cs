using System.Collections.Concurrent;

namespace Parley.Metrics.Prometheus.Internal;

/// <summary>One time series: an instrument's state for one tag set.</summary>
internal abstract class Series(string labels)
{
    /// <summary>Pre-rendered label pairs without braces, empty when the series has no tags.</summary>
    public string Labels { get; } = labels;

    /// <summary>The scrape in which an observable instrument last reported this series.</summary>
    public long ObservedEpoch;
}

/// <summary>
/// Maps tag sets to series. Finding an existing series is a lock-free dictionary read (no
/// allocation for up to three tags); only creating a series takes a lock.
/// </summary>
internal sealed class SeriesMap<TSeries>(Func<string, TSeries> factory, int limit)
    where TSeries : Series
{
    private const string OverflowLabels = "otel_metric_overflow=\"true\"";

    private readonly ConcurrentDictionary<TagKey, TSeries> _map = new();
    private readonly Lock _gate = new();
    private TSeries? _noTags;
    private TSeries? _overflow;
    private int _count;

    public TSeries Get(ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        if (tags.Length == 0)
        {
            return _noTags ?? CreateNoTags();
        }
        var key = TagKey.Create(tags);
        return _map.TryGetValue(key, out var series) ? series : Create(key);
    }

    public List<TSeries> Snapshot()
    {
        var list = new List<TSeries>(_map.Count + 2);
        lock (_gate)
        {
            if (_noTags is not null)
            {
                list.Add(_noTags);
            }
            list.AddRange(_map.Values);
            if (_overflow is not null)
            {
                list.Add(_overflow);
            }
        }
        list.Sort(static (x, y) => string.CompareOrdinal(x.Labels, y.Labels));
        return list;
    }

    private TSeries CreateNoTags()
    {
        lock (_gate)
        {
            return _noTags ??= factory("");
        }
    }

    private TSeries Create(TagKey key)
    {
        lock (_gate)
        {
            if (_map.TryGetValue(key, out var existing))
            {
                return existing;
            }
            if (_count >= limit)
            {
                return _overflow ??= factory(OverflowLabels);
            }
            var series = factory(PrometheusNaming.FormatLabels(key));
            _map[key] = series;
            _count++;
            return series;
        }
    }
}
