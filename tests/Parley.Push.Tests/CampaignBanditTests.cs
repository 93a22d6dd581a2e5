using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Parley.Push.Tests.Simulators;

namespace Parley.Push.Tests;

/// <summary>
/// The campaign report's bandit at campaign level, on the real server: clicks the users' devices report (device HTTP API)
/// on one template's pushes are counted for that template and move the bandit's current choice to it.
/// </summary>
public sealed class CampaignBanditTests
{
    [Fact]
    public async Task ClicksReportedForOneTemplate_AreCountedForIt_AndShiftTheBanditsChoice()
    {
        await using var fcm = new FcmSimulator(TimeProvider.System);
        await fcm.StartAsync();
        // Explore half of the time (seeded), so both templates are sent and neither has a click yet.
        await using var server = await TestServer.StartAsync(CampaignTests.Settings(fcm, ("Parley:Push:BanditEpsilon", "0.5"), ("Parley:Push:RandomSeed", "19")));
        const int Users = 60;
        await CampaignTests.SeedAsync(server.Services, "bd", Users, _ => true);
        var ids = Enumerable.Range(0, Users).Select(i => "bd" + i.ToString("D5", CultureInfo.InvariantCulture)).ToArray();
        await CampaignTests.CreateAsync(server.Admin, new { campaignId = "bandit", name = "Bandit", audience = new { userIds = ids }, templates = CampaignTests.Templates(), expiresAt = DateTimeOffset.UtcNow.AddHours(1).ToUnixTimeMilliseconds() });
        await CampaignTests.WaitForStateAsync(server.Admin, "bandit", "done", TimeSpan.FromSeconds(60));
        await Wait.UntilAsync(() => fcm.AcceptedCount == Users, $"FCM got {Users} pushes", TimeSpan.FromSeconds(60));

        var before = await CampaignTests.ReportAsync(server.Admin, "bandit");
        var arms = Arms(before);
        Assert.Equal(Users, arms.Values.Sum(a => a.Sends));
        Assert.All(arms.Values, a => Assert.True(a.Sends > 0 && a.Clicks == 0, "both templates were sent, none clicked"));

        // Without clicks the estimate (clicks + 1) / (sends + 2) favours the template sent less; click the other one.
        var choice = before.GetProperty("banditChoice").GetString()!;
        Assert.Equal(arms.OrderBy(a => a.Value.Sends).ThenBy(a => a.Key, StringComparer.Ordinal).First().Key, choice);
        var other = arms.Keys.Single(k => k != choice);
        var targets = (await server.Admin.GetFromJsonAsync<JsonElement>("/admin/v1/business/campaigns/bandit/targets?limit=1000")).GetProperty("targets").EnumerateArray()
            .Where(t => t.GetProperty("templateId").GetString() == other).Select(t => t.GetProperty("userId").GetString()!).ToList();
        Assert.Equal(arms[other].Sends, targets.Count);
        var clickers = targets.Take(5).ToList();
        foreach (var user in clickers)
        {
            var push = Data(fcm, user);
            using var device = new HttpClient { BaseAddress = server.BaseUri };
            device.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", await server.IssueTokenAsync(user, "phone", "android"));
            var clicked = await device.PostAsJsonAsync($"/api/v1/push/{push.GetProperty("push_id").GetString()}/clicked", new { traceId = push.GetProperty("trace_id").GetString() });
            Assert.Equal(HttpStatusCode.NoContent, clicked.StatusCode);
        }

        // Another user's push is not theirs to click: refused, and not counted.
        var victim = ids.First(u => !clickers.Contains(u));
        var stranger = ids.First(u => u != victim);
        using (var device = new HttpClient { BaseAddress = server.BaseUri })
        {
            device.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", await server.IssueTokenAsync(stranger, "phone", "android"));
            var push = Data(fcm, victim);
            Assert.NotEqual(HttpStatusCode.NoContent, (await device.PostAsJsonAsync($"/api/v1/push/{push.GetProperty("push_id").GetString()}/clicked", new { traceId = push.GetProperty("trace_id").GetString() })).StatusCode);
        }

        var after = await CampaignTests.ReportAsync(server.Admin, "bandit");
        var shifted = Arms(after);
        Assert.Equal((arms[other].Sends, (long)clickers.Count), shifted[other]);
        Assert.Equal((arms[choice].Sends, 0L), shifted[choice]);
        Assert.Equal(other, after.GetProperty("banditChoice").GetString());
        var row = after.GetProperty("templates").EnumerateArray().Single(t => t.GetProperty("templateId").GetString() == other);
        Assert.Equal(clickers.Count, row.GetProperty("clicked").GetInt64());
        Assert.Equal(clickers.Count, after.GetProperty("delivery").GetProperty("clicked").GetInt64());
        Assert.Equal(clickers.Count, after.GetProperty("delivery").GetProperty("arrived").GetInt64()); // a click counts as arrival
    }

    /// <summary>The data fields (push_id, trace_id) of the one push FCM got for <paramref name="user"/>'s phone.</summary>
    private static JsonElement Data(FcmSimulator fcm, string user) =>
        fcm.Requests.Select(r => JsonDocument.Parse(r.Body).RootElement.GetProperty("message"))
            .Single(m => m.GetProperty("token").GetString() == "fcm-" + user)
            .GetProperty("data");

    private static Dictionary<string, (long Sends, long Clicks)> Arms(JsonElement report) =>
        report.GetProperty("templates").EnumerateArray().ToDictionary(
            t => t.GetProperty("templateId").GetString()!,
            t => (t.GetProperty("banditSends").GetInt64(), t.GetProperty("banditClicks").GetInt64()),
            StringComparer.Ordinal);
}
