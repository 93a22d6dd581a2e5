using System.Diagnostics.Metrics;

namespace Parley.Storage.Sqlite;

/// <summary>
/// Where the one SQLite writer's time goes (docs/observability.md): how long the oldest write of a transaction waited in
/// the writer's queue, how long each transaction took from BEGIN to COMMIT, and how long each checkpoint took, by who ran
/// it (the background thread's passes, or the writer's short catch-up after them). The meter is a sub-meter of
/// "Parley", exported with it.
/// </summary>
internal sealed class SqliteWriterMetrics
{
    public const string MeterName = "Parley.Storage.Sqlite";

    private static readonly KeyValuePair<string, object?> ByWriter = new("by", "writer");
    private static readonly KeyValuePair<string, object?> ByBackground = new("by", "background");

    public SqliteWriterMetrics(IMeterFactory meterFactory, Func<long> searchSegments)
    {
        var meter = meterFactory.Create(MeterName);
        meter.CreateObservableGauge("parley.storage.sqlite.search.segments", searchSegments, description:
            "Segments of the full-text search index as the last background merge step read them (0 before the first): every search opens each of its terms in every segment.");
        double[] bounds = [0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5];
        QueueWait = meter.CreateHistogram("parley.storage.sqlite.queue.wait", "s",
            "How long the oldest write of a transaction waited in the SQLite writer's queue.",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = bounds });
        Transaction = meter.CreateHistogram("parley.storage.sqlite.transaction.duration", "s",
            "One SQLite writer transaction, BEGIN to COMMIT (the fsync included).",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = bounds });
        Commit = meter.CreateHistogram("parley.storage.sqlite.commit.duration", "s",
            "The COMMIT of one SQLite writer transaction alone: its WAL frames written and synced.",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.0002, 0.0005, 0.001, 0.002, 0.003, 0.005, 0.0075, 0.01, 0.015, 0.02, 0.03, 0.05, 0.1, 0.25, 0.5, 1, 2.5] });
        Checkpoint = meter.CreateHistogram("parley.storage.sqlite.checkpoint.duration", "s",
            "One WAL checkpoint, by who ran it: the background thread (its passes) or the writer (its catch-up).",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = bounds });
        Background = meter.CreateHistogram("parley.storage.sqlite.background.duration", "s",
            "One background write (the search index's merge steps), its commit included: how long it held the writer.",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = bounds });
        BackgroundDeferred = meter.CreateCounter<long>("parley.storage.sqlite.background.deferred",
            description: "Background writes not run, by why: other writes were queued (queued) or their share of the writer's time was spent (budget).");
    }

    public Histogram<double> QueueWait { get; }

    /// <summary>Background writes' time holding the writer.</summary>
    public Histogram<double> Background { get; }

    /// <summary>Background writes not run, by <c>reason</c>.</summary>
    public Counter<long> BackgroundDeferred { get; }

    public Histogram<double> Transaction { get; }

    /// <summary>The COMMIT statement alone (the WAL's writes and sync), the rest of <see cref="Transaction"/> being the statements.</summary>
    public Histogram<double> Commit { get; }

    public Histogram<double> Checkpoint { get; }

    private static readonly KeyValuePair<string, object?> DeferredQueued = new("reason", "queued");
    private static readonly KeyValuePair<string, object?> DeferredBudget = new("reason", "budget");

    public void RecordBackgroundDeferred(bool byBudget) => BackgroundDeferred.Add(1, byBudget ? DeferredBudget : DeferredQueued);

    public void RecordCheckpoint(double seconds, bool byWriter) => Checkpoint.Record(seconds, byWriter ? ByWriter : ByBackground);
}
