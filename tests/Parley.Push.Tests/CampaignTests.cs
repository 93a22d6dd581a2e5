using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Parley.Abstractions.Accounts;
using Parley.Abstractions.Push;
using Parley.Protocol.V1;
using Parley.Push.Tests.Simulators;
using PushVendor = Parley.Abstractions.Push.PushVendor;

namespace Parley.Push.Tests;

/// <summary>
/// Marketing campaigns (ADR 0015 §4) on the real server with SQLite and the FCM simulator: a 10,000-user campaign with two
/// templates end to end (opt-outs through the SDK, the admin API and the store, users without a device, an unknown user;
/// one push per device, the vendor TTL from the expiry, a report that adds up), the throttle, cancel, expiry and the
/// business-scope authorisation. The kill -9 restart runs in <see cref="CampaignRestartTests"/>.
/// </summary>
public sealed class CampaignTests
{
    internal static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    internal static Dictionary<string, string?> Settings(FcmSimulator fcm, params (string Key, string Value)[] extra)
    {
        var settings = new Dictionary<string, string?>
        {
            ["Parley:Push:Fcm:BaseUri"] = fcm.BaseUri.ToString(),
            ["Parley:Push:Fcm:ProjectId"] = FcmSimulator.ProjectId,
            ["Parley:Push:Fcm:ServiceAccountJson"] = fcm.ServiceAccountJson,
            ["Parley:Push:Fcm:RatePerSecond"] = "50000",
            ["Parley:Push:Fcm:RateBurst"] = "50000",
            ["Parley:Push:MarketingDailyCapPerUser"] = "100",
            // Quiet hours that never match (an empty window), so marketing goes at once whatever the time of the run.
            ["Parley:Push:QuietHoursStart"] = "00:00",
            ["Parley:Push:QuietHoursEnd"] = "00:00",
            ["Parley:Campaigns:PollInterval"] = "00:00:00.200",
            ["Parley:Campaigns:MaxRatePerSecond"] = "20000",
        };
        foreach (var (key, value) in extra)
        {
            settings[key] = value;
        }

        return settings;
    }

    /// <summary>Users u{first..first+count} (5 digits), each with an FCM device unless <paramref name="withDevice"/> says no; straight into the server's stores.</summary>
    internal static async Task SeedAsync(IServiceProvider services, string prefix, int count, Func<int, bool> withDevice)
    {
        var accounts = services.GetRequiredService<IAccountStore>();
        var devices = services.GetRequiredService<IDeviceStore>();
        var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        await Parallel.ForEachAsync(Enumerable.Range(0, count), new ParallelOptions { MaxDegreeOfParallelism = 64 }, async (i, ct) =>
        {
            var id = prefix + i.ToString("D5", CultureInfo.InvariantCulture);
            Assert.True(await accounts.CreateUserAsync(new UserRecord(id, "User " + i, string.Empty, string.Empty, now, now), ct));
            if (withDevice(i))
            {
                await devices.UpsertAsync(new PushDevice(id, "phone", "android", PushVendor.Fcm, "fcm-" + id, "com.example.shop", PushEnvironment.Production, true, "en", "UTC", now, now), ct);
            }
        });
    }

    internal static object Templates() => new[]
    {
        new { templateId = "spring-a", title = "Spring sale", body = "20 % off everything" },
        new { templateId = "spring-b", title = "Spring is here", body = "New arrivals, 20 % off" },
    };

    internal static async Task<JsonElement> CreateAsync(HttpClient admin, object request)
    {
        var response = await admin.PostAsJsonAsync("/admin/v1/business/campaigns", request);
        var json = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.True(response.StatusCode == HttpStatusCode.Created, $"create answered {(int)response.StatusCode}: {json}");
        return json;
    }

    internal static async Task<JsonElement> ReportAsync(HttpClient admin, string id) =>
        await admin.GetFromJsonAsync<JsonElement>($"/admin/v1/business/campaigns/{id}");

    internal static async Task<JsonElement> WaitForStateAsync(HttpClient admin, string id, string state, TimeSpan timeout)
    {
        var report = default(JsonElement);
        await Wait.UntilAsync(
            () => (report = ReportAsync(admin, id).GetAwaiter().GetResult()).GetProperty("campaign").GetProperty("state").GetString() == state,
            $"campaign {id} reached {state}",
            timeout);
        return report;
    }

    internal static long Skipped(JsonElement report, string reason) =>
        report.GetProperty("progress").GetProperty("skippedByReason").TryGetProperty(reason, out var n) ? n.GetInt64() : 0;

    [Fact]
    public async Task TenThousandUsers_TwoTemplates_OptOutsAndDevicelessSkipped_EveryOtherUserPushedOnce_WithTheExpiryAsTtl_ReportAddsUp()
    {
        const int Users = 10_000;
        await using var fcm = new FcmSimulator(TimeProvider.System);
        await fcm.StartAsync();
        await using var server = await TestServer.StartAsync(Settings(fcm));
        await SeedAsync(server.Services, "m", Users, i => i % 100 != 0); // 100 users have no device
        var ids = Enumerable.Range(0, Users).Select(i => "m" + i.ToString("D5", CultureInfo.InvariantCulture)).ToList();

        // Opt-outs: 200 in the store, one through the SDK (native protocol), one through the admin API, one in and out again.
        var settings = server.Services.GetRequiredService<IPushSettingsStore>();
        foreach (var i in Enumerable.Range(0, Users).Where(i => i % 50 == 25))
        {
            await settings.SetMarketingOptOutAsync(ids[i], true, 1);
        }

        await using (var phone = await server.ConnectAsync(ids[1], "phone", Platform.Android))
        {
            await phone.SetPushSettingsAsync(marketingOptOut: true);
        }

        Assert.Equal(HttpStatusCode.NoContent, (await server.Admin.PutAsJsonAsync($"/admin/v1/business/marketing-opt-out/{ids[3]}", new { optOut = true })).StatusCode);
        Assert.Equal(HttpStatusCode.NoContent, (await server.Admin.PutAsJsonAsync($"/admin/v1/business/marketing-opt-out/{ids[4]}", new { optOut = true })).StatusCode);
        Assert.Equal(HttpStatusCode.NoContent, (await server.Admin.PutAsJsonAsync($"/admin/v1/business/marketing-opt-out/{ids[4]}", new { optOut = false })).StatusCode);
        Assert.True((await server.Admin.GetFromJsonAsync<JsonElement>($"/admin/v1/business/marketing-opt-out/{ids[1]}")).GetProperty("optOut").GetBoolean());
        Assert.Equal(HttpStatusCode.BadRequest, (await server.Admin.PutAsJsonAsync($"/admin/v1/business/marketing-opt-out/{ids[4]}", new { })).StatusCode);
        var optedOut = Enumerable.Range(0, Users).Where(i => i % 50 == 25 || i is 1 or 3).Select(i => ids[i]).ToHashSet(StringComparer.Ordinal);
        var deviceless = Enumerable.Range(0, Users).Where(i => i % 100 == 0).Select(i => ids[i]).ToHashSet(StringComparer.Ordinal);
        var reached = ids.Where(u => !optedOut.Contains(u) && !deviceless.Contains(u)).ToHashSet(StringComparer.Ordinal);
        Assert.Equal(Users - 100 - 202, reached.Count);

        var expiresAt = DateTimeOffset.UtcNow.AddHours(2).ToUnixTimeMilliseconds();
        var created = await CreateAsync(server.Admin, new
        {
            campaignId = "spring-2026",
            name = "Spring sale",
            audience = new { userIds = ids.Append("ghost").Append(ids[7]).ToArray() }, // an unknown user, a duplicate
            templates = Templates(),
            expiresAt,
            ratePerSecond = 10_000,
        });
        Assert.Equal(Users + 1, created.GetProperty("audienceSize").GetInt64());
        Assert.Equal(HttpStatusCode.Conflict, (await server.Admin.PostAsJsonAsync("/admin/v1/business/campaigns", new { campaignId = "spring-2026", name = "again", audience = new { all = true }, templates = Templates(), expiresAt })).StatusCode);

        // Completion is what is asserted, not its speed (that is the push benchmark's): the waits only bound a hang.
        var done = await WaitForStateAsync(server.Admin, "spring-2026", "done", TimeSpan.FromMinutes(4));
        await Wait.UntilAsync(() => fcm.Delivered.Count >= reached.Count, $"FCM got {reached.Count} pushes", TimeSpan.FromMinutes(2));

        // Every reached user's device got exactly one push, nobody else got one.
        var sent = fcm.Requests.ToList();
        Assert.Equal(reached.Count, sent.Count);
        Assert.All(fcm.RequestsByPushId.Values, n => Assert.Equal(1, n));
        var tokens = sent.Select(r => JsonDocument.Parse(r.Body).RootElement.GetProperty("message")).ToList();
        Assert.Equal(reached.Select(u => "fcm-" + u).Order(StringComparer.Ordinal), tokens.Select(m => m.GetProperty("token").GetString()!).Order(StringComparer.Ordinal));
        var android = tokens[0].GetProperty("android");
        Assert.Equal("NORMAL", android.GetProperty("priority").GetString());
        var ttl = long.Parse(android.GetProperty("ttl").GetString()!.TrimEnd('s'), CultureInfo.InvariantCulture);
        Assert.InRange(ttl, 7_000, 7_200); // the expiry two hours ahead, not the three-day marketing default
        Assert.Contains(tokens[0].GetProperty("notification").GetProperty("title").GetString(), new[] { "Spring sale", "Spring is here" });

        // The report adds up: targeted = sent + skipped (by reason), pushes accepted by the vendor, per template.
        var report = await ReportAsync(server.Admin, "spring-2026");
        var progress = report.GetProperty("progress");
        Assert.Equal(Users + 1, progress.GetProperty("targeted").GetInt64());
        Assert.Equal(reached.Count, progress.GetProperty("sent").GetInt64());
        Assert.Equal(progress.GetProperty("targeted").GetInt64(), progress.GetProperty("sent").GetInt64() + progress.GetProperty("skipped").GetInt64());
        Assert.Equal(202, Skipped(report, "opted_out"));
        Assert.Equal(100, Skipped(report, "no_device"));
        Assert.Equal(1, Skipped(report, "unknown_user"));
        Assert.Equal(reached.Count, report.GetProperty("delivery").GetProperty("accepted").GetInt64());
        Assert.Equal(0, report.GetProperty("delivery").GetProperty("pending").GetInt64());
        var templates = report.GetProperty("templates").EnumerateArray().ToList();
        Assert.Equal(["spring-a", "spring-b"], templates.Select(t => t.GetProperty("templateId").GetString()));
        Assert.Equal(reached.Count, templates.Sum(t => t.GetProperty("users").GetInt64()));
        Assert.Equal(reached.Count, templates.Sum(t => t.GetProperty("accepted").GetInt64()));
        Assert.All(templates, t => Assert.True(t.GetProperty("users").GetInt64() > 0, "the bandit tried both templates"));
        Assert.Equal("done", done.GetProperty("campaign").GetProperty("state").GetString());

        // The per-user outcomes are listed too, in user-id order.
        var targets = await server.Admin.GetFromJsonAsync<JsonElement>($"/admin/v1/business/campaigns/spring-2026/targets?limit=3");
        Assert.Equal(["ghost", "m00000", "m00001"], targets.GetProperty("targets").EnumerateArray().Select(t => t.GetProperty("userId").GetString()));
        Assert.Equal("no_device", targets.GetProperty("targets")[1].GetProperty("reason").GetString());
        Assert.Equal("opted_out", targets.GetProperty("targets")[2].GetProperty("reason").GetString());
    }

    [Fact]
    public async Task Throttle_HoldsTheRate_CancelStopsTheRest_AndFiltersItsPendingPushes()
    {
        await using var fcm = new FcmSimulator(TimeProvider.System);
        await fcm.StartAsync();
        await using var server = await TestServer.StartAsync(Settings(fcm));
        await SeedAsync(server.Services, "t", 3_000, _ => true);
        var ids = Enumerable.Range(0, 3_000).Select(i => "t" + i.ToString("D5", CultureInfo.InvariantCulture)).ToArray();

        const int Rate = 400;
        var watch = Stopwatch.StartNew();
        await CreateAsync(server.Admin, new { campaignId = "slow", name = "Slow", audience = new { userIds = ids }, templates = Templates(), expiresAt = DateTimeOffset.UtcNow.AddHours(1).ToUnixTimeMilliseconds(), ratePerSecond = Rate });
        JsonElement report = default;
        await Wait.UntilAsync(() => (report = ReportAsync(server.Admin, "slow").GetAwaiter().GetResult()).GetProperty("progress").GetProperty("targeted").GetInt64() >= 600, "600 users processed", TimeSpan.FromSeconds(30));
        var seconds = watch.Elapsed.TotalSeconds;
        var targeted = report.GetProperty("progress").GetProperty("targeted").GetInt64();

        // Never ahead of the rate (one chunk of rate/4 allowed as the start burst), and the throttle is what holds it back.
        Assert.True(targeted <= Rate * seconds + Rate / 4, $"{targeted} users in {seconds:0.00} s at {Rate}/s");
        Assert.True(seconds >= (600.0 - Rate / 4) / Rate, $"600 users took only {seconds:0.00} s at {Rate}/s");
        Assert.Equal("running", report.GetProperty("campaign").GetProperty("state").GetString());
        Assert.NotNull(report.GetProperty("campaign").GetProperty("runner").GetString());

        var cancelledAt = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        var cancel = await server.Admin.PostAsync("/admin/v1/business/campaigns/slow/cancel", null);
        Assert.Equal(HttpStatusCode.OK, cancel.StatusCode);
        Assert.Equal(HttpStatusCode.Conflict, (await server.Admin.PostAsync("/admin/v1/business/campaigns/slow/cancel", null)).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await server.Admin.PostAsync("/admin/v1/business/campaigns/nope/cancel", null)).StatusCode);

        // Cancelled: the runner stops before its next chunk; nothing is pending; pushes sent are those journaled before.
        await Task.Delay(1_000);
        var first = await ReportAsync(server.Admin, "slow");
        await Task.Delay(1_000);
        var after = await ReportAsync(server.Admin, "slow");
        Assert.Equal("cancelled", after.GetProperty("campaign").GetProperty("state").GetString());
        var processed = after.GetProperty("progress").GetProperty("targeted").GetInt64();
        Assert.True(first.GetProperty("progress").GetProperty("targeted").GetInt64() == processed, $"cancel at {cancelledAt}: {first} then {after}; targets {await server.Admin.GetStringAsync("/admin/v1/business/campaigns/slow/targets?limit=1000&after=t00400")}");
        Assert.InRange(processed, 600, 2_999);
        var delivery = after.GetProperty("delivery");
        Assert.Equal(0, delivery.GetProperty("pending").GetInt64());
        var cancelledPushes = delivery.GetProperty("filtered").TryGetProperty("cancelled", out var c) ? c.GetInt64() : 0;
        // Every journaled push was sent or filtered by the cancel; the journal may hold one chunk more than the committed
        // targets (journaled, then fenced off by the cancel before its commit), never one less.
        var journaled = delivery.GetProperty("accepted").GetInt64() + cancelledPushes;
        Assert.Empty(delivery.GetProperty("failed").EnumerateObject());
        Assert.InRange(journaled - after.GetProperty("progress").GetProperty("pushes").GetInt64(), 0, Rate / 4);
        Assert.Equal(delivery.GetProperty("accepted").GetInt64(), fcm.Requests.Count);
        Assert.Equal(HttpStatusCode.OK, (await server.Admin.GetAsync("/admin/v1/business/campaigns?state=cancelled")).StatusCode);
        var list = await server.Admin.GetFromJsonAsync<JsonElement>("/admin/v1/business/campaigns?state=cancelled");
        Assert.Equal("slow", Assert.Single(list.GetProperty("campaigns").EnumerateArray()).GetProperty("campaignId").GetString());
    }

    [Fact]
    public async Task Expiry_EndsTheCampaign_Validation_AndOnlyTheBusinessScopeMayRunCampaigns()
    {
        await using var fcm = new FcmSimulator(TimeProvider.System);
        await fcm.StartAsync();
        await using var server = await TestServer.StartAsync(Settings(fcm));
        await SeedAsync(server.Services, "x", 2_000, _ => true);
        var ids = Enumerable.Range(0, 2_000).Select(i => "x" + i.ToString("D5", CultureInfo.InvariantCulture)).ToArray();
        var expires = DateTimeOffset.UtcNow.AddSeconds(3).ToUnixTimeMilliseconds();

        using var business = await OperatorAsync(server, "business");
        using var read = await OperatorAsync(server, "read");
        using var users = await OperatorAsync(server, "users");
        using var anonymous = new HttpClient { BaseAddress = server.BaseUri };
        using var user = new HttpClient { BaseAddress = server.BaseUri };
        user.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", await server.IssueTokenAsync(ids[0], "phone", "android"));
        var request = new { campaignId = "short", name = "Flash sale", audience = new { userIds = ids }, templates = Templates(), expiresAt = expires, ratePerSecond = 200 };
        Assert.Equal(HttpStatusCode.Forbidden, (await read.PostAsJsonAsync("/admin/v1/business/campaigns", request)).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await users.PostAsJsonAsync("/admin/v1/business/campaigns", request)).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.PostAsJsonAsync("/admin/v1/business/campaigns", request)).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await user.PostAsJsonAsync("/admin/v1/business/campaigns", request)).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await users.PutAsJsonAsync($"/admin/v1/business/marketing-opt-out/{ids[0]}", new { optOut = true })).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await users.GetAsync("/admin/v1/business/campaigns")).StatusCode);
        Assert.Empty((await read.GetFromJsonAsync<JsonElement>("/admin/v1/business/campaigns")).GetProperty("campaigns").EnumerateArray());

        await CreateAsync(business, request with { expiresAt = DateTimeOffset.UtcNow.AddSeconds(4).ToUnixTimeMilliseconds() });
        Assert.Equal(HttpStatusCode.Forbidden, (await read.PostAsync("/admin/v1/business/campaigns/short/cancel", null)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await read.GetAsync("/admin/v1/business/campaigns/short")).StatusCode);

        // 2,000 users at 200/s need 10 s; the campaign expires after 4.
        var expired = await WaitForStateAsync(server.Admin, "short", "expired", TimeSpan.FromSeconds(20));
        var targeted = expired.GetProperty("progress").GetProperty("targeted").GetInt64();
        Assert.InRange(targeted, 1, 1_200);
        await Task.Delay(500);
        Assert.Equal(targeted, (await ReportAsync(server.Admin, "short")).GetProperty("progress").GetProperty("targeted").GetInt64());

        // Bad requests are refused with the reason and store nothing.
        var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        object[] bad =
        [
            new { name = "x", audience = new { userIds = ids[..2], all = true }, templates = Templates(), expiresAt = now + 60_000 },
            new { name = "x", audience = new { userIds = Array.Empty<string>() }, templates = Templates(), expiresAt = now + 60_000 },
            new { name = "x", audience = new { all = true }, templates = Array.Empty<object>(), expiresAt = now + 60_000 },
            new { name = "x", audience = new { all = true }, templates = new[] { new { templateId = "a", title = "t", body = "b" }, new { templateId = "a", title = "t", body = "b" } }, expiresAt = now + 60_000 },
            new { name = "x", audience = new { all = true }, templates = Templates(), expiresAt = now - 1 },
            new { name = "x", audience = new { all = true }, templates = Templates(), expiresAt = now + 60L * 86_400_000 },
            new { name = "x", audience = new { all = true }, templates = Templates(), expiresAt = now + 60_000, ratePerSecond = 0 },
            new { name = "", audience = new { all = true }, templates = Templates(), expiresAt = now + 60_000 },
            new { campaignId = "bad id!", name = "x", audience = new { all = true }, templates = Templates(), expiresAt = now + 60_000 },
        ];
        foreach (var body in bad)
        {
            var response = await business.PostAsJsonAsync("/admin/v1/business/campaigns", body);
            Assert.True(response.StatusCode == HttpStatusCode.BadRequest, $"{JsonSerializer.Serialize(body)} answered {(int)response.StatusCode}");
        }

        Assert.Equal(HttpStatusCode.NotFound, (await business.PostAsJsonAsync("/admin/v1/business/campaigns", new { name = "x", audience = new { departmentId = "nowhere" }, templates = Templates(), expiresAt = now + 60_000 })).StatusCode);
        Assert.Single((await read.GetFromJsonAsync<JsonElement>("/admin/v1/business/campaigns")).GetProperty("campaigns").EnumerateArray());

        // The create and the opt-out are in the audit log, without the templates' text.
        var audit = await server.Admin.GetStringAsync("/admin/v1/audit?limit=50");
        Assert.Contains("business.campaigns.create", audit, StringComparison.Ordinal);
        Assert.DoesNotContain("20 % off", audit, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AnUploadedListOf200kUsers_IsAcceptedBeyondTheAdminBodyCap_StoredOnce_TooLargeIsRefused()
    {
        await using var fcm = new FcmSimulator(TimeProvider.System);
        await fcm.StartAsync();
        await using var server = await TestServer.StartAsync(Settings(fcm, ("Parley:Campaigns:MaxCreateBodyBytes", "4000000")));

        // 200,000 ids (about 2.6 MB of JSON, over the admin API's 1 MB default), starting tomorrow so nothing runs.
        var ids = Enumerable.Range(0, 200_000).Select(i => "list-" + i.ToString("D6", CultureInfo.InvariantCulture)).ToArray();
        var tomorrow = DateTimeOffset.UtcNow.AddDays(1);
        var created = await CreateAsync(server.Admin, new { campaignId = "big-list", name = "Big list", audience = new { userIds = ids.Append(ids[0]).ToArray() }, templates = Templates(), startAt = tomorrow.ToUnixTimeMilliseconds(), expiresAt = tomorrow.AddHours(1).ToUnixTimeMilliseconds() });
        Assert.Equal((200_000L, "scheduled"), (created.GetProperty("audienceSize").GetInt64(), created.GetProperty("state").GetString()));
        var stored = await server.Services.GetRequiredService<Parley.Abstractions.Business.ICampaignStore>().ReadAudienceAsync("big-list", "list-199990", 100);
        Assert.Equal(ids[^9..], stored);

        // Over the campaign route's own cap: 413, nothing stored.
        var tooMany = Enumerable.Range(0, 400_000).Select(i => "list-" + i.ToString("D6", CultureInfo.InvariantCulture)).ToArray();
        var refused = await server.Admin.PostAsJsonAsync("/admin/v1/business/campaigns", new { campaignId = "too-big", name = "Too big", audience = new { userIds = tooMany }, templates = Templates(), startAt = tomorrow.ToUnixTimeMilliseconds(), expiresAt = tomorrow.AddHours(1).ToUnixTimeMilliseconds() });
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, refused.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await server.Admin.GetAsync("/admin/v1/business/campaigns/too-big")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await server.Admin.PostAsync("/admin/v1/business/campaigns/big-list/cancel", null)).StatusCode);
    }

    internal static async Task<HttpClient> OperatorAsync(TestServer server, string scope)
    {
        var response = await server.Admin.PostAsJsonAsync("/admin/v1/operators", new { name = "campaign-" + scope, scopes = new[] { scope }, ttlSeconds = 3600 });
        response.EnsureSuccessStatusCode();
        var token = (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("token").GetString();
        var client = new HttpClient { BaseAddress = server.BaseUri };
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return client;
    }
}
