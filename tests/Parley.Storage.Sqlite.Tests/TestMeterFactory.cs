using System.Collections.Concurrent;
using System.Diagnostics.Metrics;

namespace Parley.Storage.Sqlite.Tests;

/// <summary>A meter factory whose meters a <see cref="MeterListener"/> can pick out (and which it disposes).</summary>
internal sealed class TestMeterFactory : IMeterFactory
{
    public ConcurrentBag<Meter> Created { get; } = [];

    public Meter Create(MeterOptions options)
    {
        var meter = new Meter(options);
        Created.Add(meter);
        return meter;
    }

    public void Dispose()
    {
        foreach (var meter in Created)
        {
            meter.Dispose();
        }
    }
}
