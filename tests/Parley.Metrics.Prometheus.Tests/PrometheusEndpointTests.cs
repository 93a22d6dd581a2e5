using System.Diagnostics.Metrics;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Parley.Metrics.Prometheus.Tests;

public class PrometheusEndpointTests
{
    [Fact]
    public async Task MapPrometheusMetrics_RealKestrelPort_ServesTextFormat()
    {
        var meterName = "Test" + Guid.NewGuid().ToString("N");
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        builder.Services.AddPrometheusMetrics(o => o.MeterPrefixes.Add(meterName));
        await using var app = builder.Build();
        app.MapPrometheusMetrics();
        await app.StartAsync();

        using var meter = new Meter(meterName);
        meter.CreateCounter<long>("parley.logins", "{login}", "Logins.").Add(3, new KeyValuePair<string, object?>("result", "ok"));
        meter.CreateObservableGauge("parley.uptime", () => 12.5, "s");

        var address = app.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses.Single();
        using var client = new HttpClient { BaseAddress = new Uri(address), Timeout = TimeSpan.FromSeconds(30) };
        using var response = await client.GetAsync(new Uri("/metrics", UriKind.Relative));
        var body = await response.Content.ReadAsStringAsync();

        Assert.True(response.IsSuccessStatusCode, $"status {response.StatusCode}");
        Assert.Equal("text/plain; version=0.0.4; charset=utf-8", response.Content.Headers.ContentType?.ToString());
        Assert.Equal(
            "# HELP parley_logins_total Logins.\n" +
            "# TYPE parley_logins_total counter\n" +
            "parley_logins_total{result=\"ok\"} 3\n" +
            "# TYPE parley_uptime_seconds gauge\n" +
            "parley_uptime_seconds 12.5\n",
            body);

        await app.StopAsync();
    }

    [Fact]
    public void AddPrometheusMetrics_ResolvesSingletonWithOptions()
    {
        var services = new ServiceCollection();
        services.AddPrometheusMetrics(o => o.MeterPrefixes.Add("Parley"));
        services.AddPrometheusMetrics();
        using var provider = services.BuildServiceProvider();

        var collector = provider.GetRequiredService<PrometheusMeterCollector>();

        Assert.Same(collector, provider.GetRequiredService<PrometheusMeterCollector>());
        Assert.Single(provider.GetServices<Microsoft.Extensions.Hosting.IHostedService>());
        Assert.True(collector.IsMeterIncluded("Parley.Gateway"));
        Assert.False(collector.IsMeterIncluded("System.Runtime"));
    }
}
