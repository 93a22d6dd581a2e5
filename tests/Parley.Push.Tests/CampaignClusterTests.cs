using System.Globalization;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Parley.Hosting.Business;
using Parley.Push.Tests.Simulators;

namespace Parley.Push.Tests;

/// <summary>
/// Two server nodes on one PostgreSQL schema (the dev/CI PostgreSQL), both running campaign runners: the lease in
/// PostgreSQL gives the campaign to exactly one of them; when that node stops, the other takes it over and finishes it from
/// the last committed chunk; every user is processed once and no push reaches FCM twice. (Pushes the stopped node had
/// journaled but not sent are sent when it starts again: journal ownership across nodes is ADR 0014's.)
/// </summary>
public sealed class CampaignClusterTests : IAsyncLifetime
{
    private readonly string _schema = "itcamp_" + Guid.NewGuid().ToString("N");

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        await PostgresFactAttribute.DropSchemaAsync(_schema);
    }

    [PostgresFact]
    public async Task TwoNodes_OneRunsTheCampaign_TheOtherTakesOverWhenItStops_NoUserOrPushTwice()
    {
        await using var fcm = new FcmSimulator(TimeProvider.System);
        await fcm.StartAsync();
        var settings = CampaignTests.Settings(fcm);
        foreach (var (key, value) in PostgresFactAttribute.ServerSettings(_schema))
        {
            settings[key] = value;
        }

        settings["Parley:Push:TokenKey"] = Convert.ToBase64String(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32));

        var nodes = new List<TestServer> { await TestServer.StartAsync(settings) };
        try
        {
            nodes.Add(await TestServer.StartAsync(settings));
            await RunAsync(fcm, settings, nodes);
        }
        finally
        {
            foreach (var node in nodes)
            {
                await node.DisposeAsync();
            }
        }
    }

    private static async Task RunAsync(FcmSimulator fcm, Dictionary<string, string?> settings, List<TestServer> nodes)
    {
        const int Users = 1_200;
        var (a, b) = (nodes[0], nodes[1]);
        var owners = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            [Owner(a)] = "a",
            [Owner(b)] = "b",
        };
        await CampaignTests.SeedAsync(a.Services, "c", Users, _ => true);
        var ids = Enumerable.Range(0, Users).Select(i => "c" + i.ToString("D5", CultureInfo.InvariantCulture)).ToArray();
        await CampaignTests.CreateAsync(b.Admin, new { campaignId = "cluster", name = "Cluster", audience = new { userIds = ids }, templates = CampaignTests.Templates(), expiresAt = DateTimeOffset.UtcNow.AddHours(1).ToUnixTimeMilliseconds(), ratePerSecond = 300 });

        // While both nodes are up, one runner holds the campaign all along.
        var seen = new List<string>();
        JsonElement report = default;
        await Wait.UntilAsync(
            () =>
            {
                report = CampaignTests.ReportAsync(b.Admin, "cluster").GetAwaiter().GetResult();
                if (report.GetProperty("campaign").GetProperty("runner").GetString() is { } runner && (seen.Count == 0 || seen[^1] != runner))
                {
                    seen.Add(runner);
                }

                return report.GetProperty("progress").GetProperty("targeted").GetInt64() >= 450;
            },
            "the campaign is under way",
            TimeSpan.FromSeconds(30));
        var first = Assert.Single(seen);
        Assert.True(owners.ContainsKey(first), $"runner {first} is one of the nodes");

        // The runner's node stops (gracefully: it releases the lease); the other takes over and finishes.
        var (stopped, survivor) = owners[first] == "a" ? (a, b) : (b, a);
        nodes.Remove(stopped);
        await stopped.DisposeAsync();

        await CampaignTests.WaitForStateAsync(survivor.Admin, "cluster", "done", TimeSpan.FromSeconds(60));
        var done = await CampaignTests.ReportAsync(survivor.Admin, "cluster");
        Assert.Equal(Users, done.GetProperty("progress").GetProperty("targeted").GetInt64());
        Assert.Equal(Users, done.GetProperty("progress").GetProperty("sent").GetInt64());

        // The stopped node's journaled-but-unsent pushes go out when it starts again on the same schema.
        var restarted = await TestServer.StartAsync(settings);
        nodes.Add(restarted);
        await Wait.UntilAsync(
            () => (report = CampaignTests.ReportAsync(restarted.Admin, "cluster").GetAwaiter().GetResult()).GetProperty("delivery").GetProperty("pending").GetInt64() == 0,
            "every journaled push was dispatched",
            TimeSpan.FromSeconds(60));
        Assert.Equal(Users, report.GetProperty("delivery").GetProperty("accepted").GetInt64());
        Assert.All(fcm.RequestsByPushId, kv => Assert.Equal(1, kv.Value));
        Assert.Equal(Users, fcm.RequestsByPushId.Count);
    }

    private static string Owner(TestServer server) => server.Services.GetServices<IHostedService>().OfType<CampaignRunner>().Single().Owner;
}
