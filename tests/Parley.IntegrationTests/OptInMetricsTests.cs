using Parley.IntegrationTests.Infrastructure;

namespace Parley.IntegrationTests;

/// <summary>
/// Meters too costly to export by default (issue 17), each exported when its setting is on: Kestrel's memory pool meter records
/// on every socket buffer rent and return (about 1 % of the 1:1 send's CPU), Orleans' activation-data gauge walks every
/// activation on each scrape. The other Kestrel and Orleans meters are exported either way.
/// </summary>
public sealed class OptInMetricsTests
{
    [Fact]
    public async Task MemoryPoolMeter_NotExportedByDefault_ExportedWhenTurnedOn()
    {
        await using (var server = await TestServer.StartAsync())
        {
            var text = await ScrapeAfterTrafficAsync(server);
            Assert.DoesNotContain("aspnetcore_memory_pool", text, StringComparison.Ordinal);
        }

        await using (var server = await TestServer.StartAsync(new Dictionary<string, string?> { ["Parley:Telemetry:MemoryPoolMetrics"] = "true" }))
        {
            string text = "";
            await Wait.UntilAsync(
                () =>
                {
                    text = ScrapeAfterTrafficAsync(server).GetAwaiter().GetResult();
                    return text.Contains("aspnetcore_memory_pool", StringComparison.Ordinal);
                },
                "the memory pool meter was exported");
        }
    }

    [Fact]
    public async Task OrleansActivationRequestsGauge_NotExportedByDefault_ExportedWhenTurnedOn()
    {
        const string Gauge = "orleans_messaging_processing_activation_data";
        await using (var server = await TestServer.StartAsync())
        {
            var text = await ScrapeAfterTrafficAsync(server);
            Assert.Contains("orleans_catalog_activations", text, StringComparison.Ordinal);
            Assert.DoesNotContain(Gauge, text, StringComparison.Ordinal);
        }

        await using (var server = await TestServer.StartAsync(new Dictionary<string, string?> { ["Parley:Telemetry:ActivationRequestsGauge"] = "true" }))
        {
            string text = "";
            await Wait.UntilAsync(
                () =>
                {
                    text = ScrapeAfterTrafficAsync(server).GetAwaiter().GetResult();
                    return text.Contains(Gauge, StringComparison.Ordinal);
                },
                "Orleans' activation-data gauge was exported");
        }
    }

    [Fact]
    public async Task MetricCardinalityLimit_CapsParleysAndOrleansMetrics_NotAspNetCores()
    {
        const string Overflow = "otel_metric_overflow=\"true\"";
        await using (var server = await TestServer.StartAsync())
        {
            var text = await ScrapeAfterTrafficAsync(server);
            Assert.DoesNotContain(Overflow, text, StringComparison.Ordinal);
        }

        // At one label set per metric: Orleans' activations by grain type (several types are active after a message) go past
        // it into the overflow point; ASP.NET Core's request durations (several routes and status codes by now) keep theirs.
        await using (var server = await TestServer.StartAsync(new Dictionary<string, string?> { ["Parley:Telemetry:MetricCardinalityLimit"] = "1" }))
        {
            var text = await ScrapeAfterTrafficAsync(server);
            var activations = Lines(text, "orleans_catalog_activations{");
            Assert.Contains(activations, l => l.Contains(Overflow, StringComparison.Ordinal));
            var requests = Lines(text, "http_server_request_duration_seconds_count{");
            Assert.True(requests.Count >= 2, $"expected requests on two routes at least:\n{string.Join('\n', requests)}");
            Assert.DoesNotContain(requests, l => l.Contains(Overflow, StringComparison.Ordinal));
        }
    }

    [Fact]
    public async Task MetricCardinalityLimit_OutOfRange_StopsTheStart()
    {
        var failure = await Assert.ThrowsAnyAsync<Exception>(async () =>
        {
            await using var server = await TestServer.StartAsync(new Dictionary<string, string?> { ["Parley:Telemetry:MetricCardinalityLimit"] = "0" });
        });
        Assert.Contains("MetricCardinalityLimit", failure.ToString(), StringComparison.Ordinal);
    }

    private static List<string> Lines(string text, string prefix) =>
        [.. text.Split('\n').Where(l => l.StartsWith(prefix, StringComparison.Ordinal))];

    // A message sent and received over real sockets, then the scrape; the Kestrel connection meter must be there.
    private static async Task<string> ScrapeAfterTrafficAsync(TestServer server)
    {
        var alice = await server.CreateUserAsync("mpa");
        var bob = await server.CreateUserAsync("mpb");
        await using var client = await server.ConnectAsync(alice);
        await client.SendTextAsync(bob, "pool");
        using var anonymous = new HttpClient { BaseAddress = server.BaseUri };
        var text = await anonymous.GetStringAsync("/metrics");
        Assert.Contains("kestrel_active_connections", text, StringComparison.Ordinal);
        return text;
    }
}
