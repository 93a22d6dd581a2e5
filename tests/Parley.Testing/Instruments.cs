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
            switch (property.GetValue(registry))
            {
                case Counter<long> counter:
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
}
