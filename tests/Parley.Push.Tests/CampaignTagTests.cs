using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Parley.Abstractions.Push;
using Parley.Push.Tests.Simulators;
using PushVendor = Parley.Abstractions.Push.PushVendor;

namespace Parley.Push.Tests;

/// <summary>
/// Campaign audiences by user tag, through the admin API of the real server (SQLite, FCM simulator): tags set and read per
/// user (validated, users scope, audited), a campaign to the users with any of two tags and one to those with both, each
/// pushing exactly its users; the audience is fixed when the campaign is created.
/// </summary>
public sealed class CampaignTagTests
{
    [Fact]
    public async Task TagAudiences_AnyAndAll_PushExactlyTheTaggedUsers_TagsSetThroughTheAdminApi()
    {
        await using var fcm = new FcmSimulator(TimeProvider.System);
        await fcm.StartAsync();
        await using var server = await TestServer.StartAsync(CampaignTests.Settings(fcm));
        var ids = Enumerable.Range(0, 20).Select(i => "tg" + i.ToString("D2", CultureInfo.InvariantCulture)).ToArray();
        var devices = server.Services.GetRequiredService<IDeviceStore>();
        var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        foreach (var id in ids)
        {
            Assert.Equal(HttpStatusCode.Created, (await server.Admin.PostAsJsonAsync("/admin/v1/users", new { userId = id, nickname = id })).StatusCode);
            await devices.UpsertAsync(new PushDevice(id, "phone", "android", PushVendor.Fcm, "fcm-" + id, "com.example.shop", PushEnvironment.Production, true, "en", "UTC", now, now));
        }

        // vip: 0..9; beta: every third (0, 3, ..., 18); both: 0, 3, 6, 9. Others carry other tags.
        var vip = ids[..10].ToHashSet(StringComparer.Ordinal);
        var beta = ids.Where((_, i) => i % 3 == 0).ToHashSet(StringComparer.Ordinal);
        foreach (var (id, i) in ids.Select((id, i) => (id, i)))
        {
            var tags = new List<string> { "region.eu" };
            if (vip.Contains(id))
            {
                tags.Add("vip");
            }

            if (beta.Contains(id))
            {
                tags.Add("beta");
                tags.Add("beta"); // a repeat is one tag
            }

            if (i == 19)
            {
                tags.Add("plan:pro");
            }

            var set = await server.Admin.PutAsJsonAsync($"/admin/v1/users/{id}/tags", new { tags });
            Assert.Equal(HttpStatusCode.OK, set.StatusCode);
        }

        // Read back in ordinal order, replaced as a whole.
        var read = await server.Admin.GetFromJsonAsync<JsonElement>($"/admin/v1/users/{ids[0]}/tags");
        Assert.Equal(["beta", "region.eu", "vip"], read.GetProperty("tags").EnumerateArray().Select(t => t.GetString()));
        Assert.Equal(HttpStatusCode.OK, (await server.Admin.PutAsJsonAsync($"/admin/v1/users/{ids[19]}/tags", new { tags = new[] { "plan:pro", "vip" } })).StatusCode);
        vip.Add(ids[19]);
        Assert.Equal(["plan:pro", "vip"], (await server.Admin.GetFromJsonAsync<JsonElement>($"/admin/v1/users/{ids[19]}/tags")).GetProperty("tags").EnumerateArray().Select(t => t.GetString()));

        // Bad requests change nothing; an unknown user is 404; only the users scope may set tags.
        object[] bad = [new { }, new { tags = new[] { "" } }, new { tags = new[] { "has space" } }, new { tags = new[] { new string('x', 65) } }, new { tags = Enumerable.Range(0, 33).Select(i => "t" + i).ToArray() }];
        foreach (var body in bad)
        {
            var response = await server.Admin.PutAsJsonAsync($"/admin/v1/users/{ids[0]}/tags", body);
            Assert.True(response.StatusCode == HttpStatusCode.BadRequest, $"{JsonSerializer.Serialize(body)} answered {(int)response.StatusCode}");
        }

        Assert.Equal(HttpStatusCode.NotFound, (await server.Admin.PutAsJsonAsync("/admin/v1/users/nobody/tags", new { tags = new[] { "vip" } })).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await server.Admin.GetAsync("/admin/v1/users/nobody/tags")).StatusCode);
        using (var business = await CampaignTests.OperatorAsync(server, "business"))
        {
            Assert.Equal(HttpStatusCode.Forbidden, (await business.PutAsJsonAsync($"/admin/v1/users/{ids[0]}/tags", new { tags = new[] { "x" } })).StatusCode);
        }

        Assert.Equal(3, (await server.Admin.GetFromJsonAsync<JsonElement>($"/admin/v1/users/{ids[0]}/tags")).GetProperty("tags").GetArrayLength());
        Assert.Contains("users.tags.set", await server.Admin.GetStringAsync("/admin/v1/audit?limit=100"), StringComparison.Ordinal);

        // Any of vip, beta: the union. All of them: the intersection.
        var expires = DateTimeOffset.UtcNow.AddHours(1).ToUnixTimeMilliseconds();
        var any = await CampaignTests.CreateAsync(server.Admin, new { campaignId = "tags-any", name = "VIP or beta", audience = new { tags = new[] { "vip", "beta" } }, templates = CampaignTests.Templates(), expiresAt = expires });
        var union = vip.Union(beta).ToHashSet(StringComparer.Ordinal);
        Assert.Equal(("tags", "any", union.Count), (any.GetProperty("audience").GetString(), any.GetProperty("tagMatch").GetString(), any.GetProperty("audienceSize").GetInt32()));
        Assert.Equal(["beta", "vip"], any.GetProperty("tags").EnumerateArray().Select(t => t.GetString()));
        var done = await CampaignTests.WaitForStateAsync(server.Admin, "tags-any", "done", TimeSpan.FromSeconds(60));
        Assert.Equal(union.Count, done.GetProperty("progress").GetProperty("targeted").GetInt64());
        await Wait.UntilAsync(() => fcm.AcceptedCount >= union.Count, $"FCM got {union.Count} pushes", TimeSpan.FromSeconds(60));
        Assert.Equal(union.Select(u => "fcm-" + u).Order(StringComparer.Ordinal), Tokens(fcm).Order(StringComparer.Ordinal));

        // Tags changed after a campaign was created do not change its audience (it is fixed at creation).
        Assert.Equal(HttpStatusCode.OK, (await server.Admin.PutAsJsonAsync($"/admin/v1/users/{ids[0]}/tags", new { tags = new[] { "vip" } })).StatusCode);
        var both = vip.Intersect(beta).Where(u => u != ids[0]).ToHashSet(StringComparer.Ordinal);
        var all = await CampaignTests.CreateAsync(server.Admin, new { campaignId = "tags-all", name = "VIP and beta", audience = new { tags = new[] { "beta", "vip" }, match = "all" }, templates = CampaignTests.Templates(), expiresAt = expires });
        Assert.Equal(("tags", "all", both.Count), (all.GetProperty("audience").GetString(), all.GetProperty("tagMatch").GetString(), all.GetProperty("audienceSize").GetInt32()));
        await CampaignTests.WaitForStateAsync(server.Admin, "tags-all", "done", TimeSpan.FromSeconds(60));
        await Wait.UntilAsync(() => fcm.AcceptedCount >= union.Count + both.Count, $"FCM got {both.Count} more pushes", TimeSpan.FromSeconds(60));
        var second = Tokens(fcm).Skip(union.Count).ToList();
        Assert.Equal(both.Select(u => "fcm-" + u).Order(StringComparer.Ordinal), second.Order(StringComparer.Ordinal));

        // Audience validation: tags with another audience kind, empty or malformed tags, a bad match, no tagged user.
        object[] refused =
        [
            new { name = "x", audience = new { tags = new[] { "vip" }, all = true }, templates = CampaignTests.Templates(), expiresAt = expires },
            new { name = "x", audience = new { tags = Array.Empty<string>() }, templates = CampaignTests.Templates(), expiresAt = expires },
            new { name = "x", audience = new { tags = new[] { "v i p" } }, templates = CampaignTests.Templates(), expiresAt = expires },
            new { name = "x", audience = new { tags = new[] { "vip" }, match = "most" }, templates = CampaignTests.Templates(), expiresAt = expires },
            new { name = "x", audience = new { userIds = ids[..2], match = "all" }, templates = CampaignTests.Templates(), expiresAt = expires },
        ];
        foreach (var body in refused)
        {
            var response = await server.Admin.PostAsJsonAsync("/admin/v1/business/campaigns", body);
            Assert.True(response.StatusCode == HttpStatusCode.BadRequest, $"{JsonSerializer.Serialize(body)} answered {(int)response.StatusCode}");
        }

        Assert.Equal(HttpStatusCode.NotFound, (await server.Admin.PostAsJsonAsync("/admin/v1/business/campaigns", new { name = "x", audience = new { tags = new[] { "nobody-has-this" } }, templates = CampaignTests.Templates(), expiresAt = expires })).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await server.Admin.PostAsJsonAsync("/admin/v1/business/campaigns", new { name = "x", audience = new { tags = new[] { "plan:pro", "beta" }, match = "all" }, templates = CampaignTests.Templates(), expiresAt = expires })).StatusCode);
        Assert.Equal(2, (await server.Admin.GetFromJsonAsync<JsonElement>("/admin/v1/business/campaigns")).GetProperty("campaigns").GetArrayLength());
    }

    private static IEnumerable<string> Tokens(FcmSimulator fcm) =>
        fcm.Requests.Select(r => JsonDocument.Parse(r.Body).RootElement.GetProperty("message").GetProperty("token").GetString()!);
}
