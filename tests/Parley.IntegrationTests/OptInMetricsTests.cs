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
