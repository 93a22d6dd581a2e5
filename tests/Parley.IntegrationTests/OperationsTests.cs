using System.Net;
using Parley.IntegrationTests.Infrastructure;

namespace Parley.IntegrationTests;

[Collection(MetricsCollection.Name)]
public sealed class OperationsTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    private TestServer Server => fixture.Server;

    [Fact]
    public async Task HealthAndReadiness_AnswerWithoutAuthentication()
    {
        using var anonymous = new HttpClient { BaseAddress = Server.BaseUri };
        Assert.Equal(HttpStatusCode.OK, (await anonymous.GetAsync("/healthz")).StatusCode);
        var ready = await anonymous.GetAsync("/readyz");
        Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
        Assert.Equal("Healthy", await ready.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task Metrics_ExposeConnectionsMessagesAckLatencyAndBatchSize()
    {
        var alice = await Server.CreateUserAsync("alice");
        var bob = await Server.CreateUserAsync("bob");
        var client = await Server.ConnectAsync(alice);
        await client.SendTextAsync(bob, "count me");

        using var anonymous = new HttpClient { BaseAddress = Server.BaseUri };
        var response = await anonymous.GetAsync("/metrics");
        Assert.Equal("text/plain; version=0.0.4; charset=utf-8", response.Content.Headers.ContentType?.ToString());
        var text = await response.Content.ReadAsStringAsync();
        Assert.Matches(@"(?m)^parley_gateway_connections(\{\})? [1-9]\d*$", text);
        Assert.Matches(@"(?m)^parley_messages_accepted_total(\{\})? [1-9]\d*$", text);
        Assert.Matches(@"(?m)^parley_send_ack_duration_seconds_bucket\{le=""\+Inf""\} [1-9]\d*$", text);
        Assert.Matches(@"(?m)^parley_store_batch_size_count(\{\})? [1-9]\d*$", text);
        Assert.DoesNotContain("count me", text, StringComparison.Ordinal);
    }
}
