using System.Diagnostics.Metrics;
using System.Reflection;

namespace Parley.Testing;

/// <summary>Metrics helpers for tests that read /metrics.</summary>
public static class Instruments
{
    /// <summary>Gives every instrument of a metrics registry a series (zero for counters), as a fresh server would after its first events.</summary>
    public static void TouchAll(object registry)
    {
        foreach (var property in registry.GetType().GetProperties(BindingFlags.Public | BindingFlags.Instance))
        {
            Touch(property.GetValue(registry));
        }
    }

    /// <summary>
    /// Gives every instrument of the meter named <paramref name="meterName"/> a series, as <see cref="TouchAll"/> does,
    /// for instruments their owner keeps to itself (e.g. the SQLite writer's, meter "Parley.Storage.Sqlite").
    /// </summary>
    public static void TouchMeter(string meterName)
    {
        var found = new List<Instrument>();
        using (var listener = new MeterListener())
        {
            // Called at Start for every instrument already published.
            listener.InstrumentPublished = (instrument, _) =>
            {
                if (instrument.Meter.Name == meterName)
                {
                    found.Add(instrument);
                }
            };
            listener.Start();
        }

        foreach (var instrument in found)
        {
            Touch(instrument);
        }
    }

    private static void Touch(object? instrument)
    {
        switch (instrument)
        {
            case Counter<long> counter:
                counter.Add(0);
                break;
            case Counter<double> counter:
                counter.Add(0);
                break;
            case UpDownCounter<long> upDown:
                upDown.Add(0);
                break;
            case Histogram<double> histogram:
                histogram.Record(0);
                break;
            case Histogram<int> histogram:
                histogram.Record(0);
                break;
        }
    }
}
