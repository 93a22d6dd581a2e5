using System.Diagnostics.Metrics;

namespace Parley.Metrics.Prometheus.Tests;

/// <summary>A meter with a unique name and a collector that exports only that meter.</summary>
public sealed class TestMeter : IDisposable
{
    public TestMeter(int maxSeries = 2000)
    {
        Name = "Test" + Guid.NewGuid().ToString("N");
        Meter = new Meter(Name);
        var options = new PrometheusMetricsOptions { MaxSeriesPerInstrument = maxSeries };
        options.MeterPrefixes.Add(Name);
        Collector = new PrometheusMeterCollector(options);
    }

    public string Name { get; }

    public Meter Meter { get; }

    public PrometheusMeterCollector Collector { get; }

    public Task<string> ScrapeAsync() => ScrapeAsync(Collector);

    public static async Task<string> ScrapeAsync(PrometheusMeterCollector collector)
    {
        using var writer = new StringWriter();
        await collector.WriteAsync(writer);
        return writer.ToString();
    }

    public void Dispose()
    {
        Collector.Dispose();
        Meter.Dispose();
    }
}
