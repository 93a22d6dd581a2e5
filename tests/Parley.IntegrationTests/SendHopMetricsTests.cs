using System.Globalization;
using System.Text.RegularExpressions;
using Parley.IntegrationTests.Infrastructure;

namespace Parley.IntegrationTests;

/// <summary>
/// Where a send's time goes (issue 17, docs/observability.md): real sends through the real server move every hop of
/// <c>parley_send_hop_duration_seconds</c>, the path's hops add up to <c>parley_send_server_duration_seconds</c>, and with
/// <c>SlowSendThreshold</c> 0 every send is counted as slow by its slowest hop, its time split over the hops.
/// </summary>
[Collection(MetricsCollection.Name)]
public sealed partial class SendHopMetricsTests : IAsyncLifetime
{
    private static readonly string[] PathHops = ["receive", "call", "turn", "batch", "commit", "dispatch", "resume", "return", "ack"];

    private TestServer _server = null!;

    public async Task InitializeAsync() =>
        _server = await TestServer.StartAsync(new Dictionary<string, string?> { ["Parley:Gateway:SlowSendThreshold"] = "00:00:00" });

    public async Task DisposeAsync() => await _server.DisposeAsync();

    [Fact]
    public async Task Sends_MoveEveryHop_AndThePathHopsAddUpToTheServerTime()
    {
        const int sends = 17; // 16 timed: two of the recipient's frames are timed (one in 8)
        var alice = await _server.CreateUserAsync("alice");
        var bob = await _server.CreateUserAsync("bob");
        var sender = await _server.ConnectAsync(alice);
        var recipient = new Recorder(await _server.CreateClientAsync(bob, "b1"));
        await recipient.Client.ConnectAsync();
        var before = await ScrapeAsync();

        string? conversation = null;
        for (var i = 0; i < sends - 1; i++)
        {
            conversation = (await sender.SendTextAsync(bob, $"hop {i}", clientMsgId: $"hop-{i}")).ConversationId;
        }

        // A retry of the first: answered as a duplicate, not timed (its hops did not all run).
        Assert.True((await sender.SendTextAsync(bob, "hop 0", clientMsgId: "hop-0")).Duplicate);
        const int timed = sends - 1;
        await recipient.WaitForMessagesAsync(conversation!, timed);

        // The hops are recorded after the ack's socket write, which the client may see first.
        var after = before;
        await Wait.UntilAsync(
            () =>
            {
                after = ScrapeAsync().GetAwaiter().GetResult();
                return Delta(before, after, "parley_send_server_duration_seconds_count", null) >= timed
                    && Delta(before, after, "parley_send_hop_duration_seconds_count", "deliver") >= timed / 8;
            },
            () => $"the sends were recorded; /metrics has:\n{string.Join('\n', after.Split('\n').Where(l => l.StartsWith("parley_send_", StringComparison.Ordinal) && !l.Contains("_bucket", StringComparison.Ordinal)))}");

        var served = Delta(before, after, "parley_send_server_duration_seconds_count", null);
        var servedSeconds = Delta(before, after, "parley_send_server_duration_seconds_sum", null);
        Assert.Equal((double)timed, served); // the duplicate was not timed
        Assert.True(servedSeconds > 0);
        var hopSeconds = 0.0;
        foreach (var hop in PathHops)
        {
            // Every timed send records each path hop once (the duplicate none).
            Assert.Equal(served, Delta(before, after, "parley_send_hop_duration_seconds_count", hop));
            hopSeconds += Delta(before, after, "parley_send_hop_duration_seconds_sum", hop);
            Assert.True(Delta(before, after, "parley_send_slow_time_seconds_total", hop) > 0, $"no slow time in hop {hop}");
        }

        // The hops are contiguous: together they are the whole time in the server.
        Assert.Equal(servedSeconds, hopSeconds, servedSeconds * 1e-6);
        var slow = PathHops.Sum(hop => Delta(before, after, "parley_send_slow_total", hop));
        Assert.Equal(served, slow);
        Assert.True(Delta(before, after, "parley_send_hop_duration_seconds_count", "deliver") >= timed / 8);
    }

    private async Task<string> ScrapeAsync()
    {
        using var anonymous = new HttpClient { BaseAddress = _server.BaseUri };
        return await anonymous.GetStringAsync("/metrics");
    }

    /// <summary>How much the sample <paramref name="name"/> (with <c>hop</c> = <paramref name="hop"/>, or any labels) grew.</summary>
    private static double Delta(string before, string after, string name, string? hop) => Sample(after, name, hop) - Sample(before, name, hop);

    private static double Sample(string exposition, string name, string? hop)
    {
        var total = 0.0;
        foreach (Match m in SampleLine().Matches(exposition))
        {
            if (m.Groups["name"].Value == name && (hop is null || m.Groups["labels"].Value.Contains($"hop=\"{hop}\"", StringComparison.Ordinal)))
            {
                total += double.Parse(m.Groups["value"].Value, CultureInfo.InvariantCulture);
            }
        }

        return total;
    }

    [GeneratedRegex(@"(?m)^(?<name>[a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(?<labels>[^}]*)\})? (?<value>\S+)")]
    private static partial Regex SampleLine();
}
