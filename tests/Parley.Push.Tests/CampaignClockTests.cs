using System.Globalization;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Parley.Abstractions.Accounts;
using Parley.Abstractions.Push;
using Parley.Push.Tests.Simulators;
using PushVendor = Parley.Abstractions.Push.PushVendor;
using Xunit.Abstractions;

namespace Parley.Push.Tests;

/// <summary>
/// The per-user marketing cap and quiet hours at campaign level, on the real server (SQLite, FCM simulator) with a clock
/// the test sets: the server's time is a fixed morning (07:00 UTC, quiet hours 22:00–08:00 in each device's time zone), so
/// which users are sent, delayed or suppressed is decided by the time zones, not by when the test runs. Delayed pushes wait
/// in the push journal across a restart and go when the quiet hours have ended, or are filtered <c>expired</c> when the
/// campaign ended first. The server's daily marketing cap and a campaign's own stricter cap skip exactly the users who
/// reached them (<c>user_cap</c>). Every count of the report is asserted exactly.
/// </summary>
public sealed class CampaignClockTests(ITestOutputHelper output)
{
    private static readonly JsonSerializerOptions Json = CampaignTests.Json;

    [Fact]
    public async Task QuietHours_DelayUntilTheyEnd_AcrossARestart_OrSuppressWhenTheCampaignEndsFirst_CapAndOptOutExact()
    {
        // Tomorrow (UTC) at 07:00 and 08:45: in the future whatever the date of the run, and the same day for the daily cap.
        var day = new DateTimeOffset(DateTimeOffset.UtcNow.UtcDateTime.Date.AddDays(1), TimeSpan.Zero);
        var seven = day.AddHours(7);
        var dataDirectory = Path.Combine(Path.GetTempPath(), "parley-campaign-clock-" + Guid.NewGuid().ToString("N"));
        await using var fcm = new FcmSimulator(TimeProvider.System);
        await fcm.StartAsync();
        var settings = CampaignTests.Settings(
            fcm,
            ("Parley:Push:QuietHoursStart", "22:00"),
            ("Parley:Push:QuietHoursEnd", "08:00"),
            ("Parley:Push:MarketingDailyCapPerUser", "2"),
            ("Parley:Storage:DataDirectory", dataDirectory));

        // The audience by time zone at 07:00 UTC: UTC is in its quiet hours until 08:00 UTC (before the campaign's end at
        // 09:00: delayed), Tokyo (16:00) is not (sent), New York (02:00 or 03:00) is until 12:00 or 13:00 UTC (after the
        // end: suppressed quiet_hours).
        // The morning campaign targets 10,000 users (and an unknown one), the size of issue 19's example; most of them are
        // decided without a push (suppressed, opted out, deviceless), so the vendor traffic stays about 4,000 pushes.
        string[] Ids(string prefix, int count) => [.. Enumerable.Range(0, count).Select(i => prefix + i.ToString("D5", CultureInfo.InvariantCulture))];
        var utc = Ids("qa", 2_000);
        var tokyo = Ids("qb", 1_500);
        var newYork = Ids("qc", 4_000);
        var capped = Ids("qd", 200);     // Tokyo, sent two campaign pushes today already (the server's cap is 2)
        var once = Ids("qk", 100);       // Tokyo, sent one today: under the server's cap, at the "late" campaign's own cap of 1
        var optedOut = Ids("qe", 1_000); // Tokyo
        var deviceless = Ids("qf", 1_200);
        var twoZones = Ids("qg", 100);   // a UTC phone and a Tokyo tablet: sent now to one, delayed to the other
        var late = Ids("qh", 200);       // UTC, in a campaign that ends at 08:30 (and caps at 1 a day): delayed, then expired
        var watch = System.Diagnostics.Stopwatch.StartNew();
        try
        {
            var clock = new ShiftableTimeProvider { Offset = seven - DateTimeOffset.UtcNow };
            await using (var server = await TestServer.StartAsync(settings, clock: clock))
            {
                var accounts = server.Services.GetRequiredService<IAccountStore>();
                var devices = server.Services.GetRequiredService<IDeviceStore>();
                var now = clock.GetUtcNow().ToUnixTimeMilliseconds();
                // Straight into the server's stores, 256 at a time (the SQLite writer commits up to 256 writes in one transaction), not 10,000 HTTP calls.
                async Task SeedAsync(IEnumerable<string> users, params (string Device, string? Zone)[] phones) =>
                    await Parallel.ForEachAsync(users, new ParallelOptions { MaxDegreeOfParallelism = 256 }, async (id, ct) =>
                    {
                        Assert.True(await accounts.CreateUserAsync(new UserRecord(id, id, string.Empty, string.Empty, now, now), ct));
                        foreach (var (device, zone) in phones)
                        {
                            await devices.UpsertAsync(new PushDevice(id, device, "android", PushVendor.Fcm, $"fcm-{id}-{device}", "com.example.shop", PushEnvironment.Production, true, "en", zone!, now, now), ct);
                        }
                    });

                await SeedAsync(utc.Concat(late), ("phone", "UTC"));
                await SeedAsync(tokyo.Concat(capped).Concat(once).Concat(optedOut), ("phone", "Asia/Tokyo"));
                await SeedAsync(newYork, ("phone", "America/New_York"));
                await SeedAsync(deviceless);
                await SeedAsync(twoZones, ("phone", "UTC"), ("tablet", "Asia/Tokyo"));

                // Opted out: a few through the admin API, the rest in the store.
                var optOuts = server.Services.GetRequiredService<IPushSettingsStore>();
                foreach (var id in optedOut.Take(5))
                {
                    Assert.Equal(System.Net.HttpStatusCode.NoContent, (await server.Admin.PutAsJsonAsync($"/admin/v1/business/marketing-opt-out/{id}", new { optOut = true }, Json)).StatusCode);
                }

                await Parallel.ForEachAsync(optedOut.Skip(5), new ParallelOptions { MaxDegreeOfParallelism = 256 }, async (id, ct) => await optOuts.SetMarketingOptOutAsync(id, true, now, ct));
                output.WriteLine($"seeded {utc.Length + tokyo.Length + newYork.Length + capped.Length + once.Length + optedOut.Length + deviceless.Length + twoZones.Length + late.Length} users in {watch.Elapsed}");

                // Earlier campaigns of the day: two for the capped users, one for the others.
                var warmup = (2 * capped.Length) + once.Length;
                await CampaignTests.CreateAsync(server.Admin, new { campaignId = "warmup", name = "Warm-up", audience = new { userIds = capped.Concat(once).ToArray() }, templates = CampaignTests.Templates(), expiresAt = seven.AddHours(2).ToUnixTimeMilliseconds(), ratePerSecond = 10_000 });
                await CampaignTests.CreateAsync(server.Admin, new { campaignId = "warmup2", name = "Warm-up 2", audience = new { userIds = capped }, templates = CampaignTests.Templates(), expiresAt = seven.AddHours(2).ToUnixTimeMilliseconds(), ratePerSecond = 10_000 });
                await CampaignTests.WaitForStateAsync(server.Admin, "warmup", "done", TimeSpan.FromSeconds(120));
                await CampaignTests.WaitForStateAsync(server.Admin, "warmup2", "done", TimeSpan.FromSeconds(120));
                await Wait.UntilAsync(() => fcm.AcceptedCount == warmup, () => $"the warm-ups' {warmup} pushes reached FCM (got {fcm.AcceptedCount})", TimeSpan.FromSeconds(120));

                string[] audience = [.. utc, .. tokyo, .. newYork, .. capped, .. optedOut, .. deviceless, .. twoZones, "ghost"];
                await CampaignTests.CreateAsync(server.Admin, new { campaignId = "morning", name = "Morning", audience = new { userIds = audience }, templates = CampaignTests.Templates(), expiresAt = seven.AddHours(2).ToUnixTimeMilliseconds(), ratePerSecond = 10_000 });
                var lateCampaign = await CampaignTests.CreateAsync(server.Admin, new { campaignId = "late", name = "Late", audience = new { userIds = late.Concat(once).ToArray() }, templates = CampaignTests.Templates(), expiresAt = seven.AddMinutes(90).ToUnixTimeMilliseconds(), dailyCapPerUser = 1, ratePerSecond = 10_000 });
                Assert.Equal(1, lateCampaign.GetProperty("dailyCapPerUser").GetInt32());
                await CampaignTests.WaitForStateAsync(server.Admin, "morning", "done", TimeSpan.FromSeconds(120));
                await CampaignTests.WaitForStateAsync(server.Admin, "late", "done", TimeSpan.FromSeconds(120));

                // Sent now: Tokyo and the two-zone users' tablets. Everything else of theirs waits for 08:00 UTC.
                var sentNow = tokyo.Length + twoZones.Length;
                JsonElement report = default;
                await Wait.UntilAsync(
                    () => (report = CampaignTests.ReportAsync(server.Admin, "morning").GetAwaiter().GetResult()).GetProperty("delivery").GetProperty("accepted").GetInt64() == sentNow,
                    () => $"{sentNow} pushes accepted: {report}",
                    TimeSpan.FromSeconds(120));
                var progress = report.GetProperty("progress");
                Assert.Equal(audience.Length, progress.GetProperty("targeted").GetInt64());
                Assert.Equal(utc.Length + tokyo.Length + twoZones.Length, progress.GetProperty("sent").GetInt64());
                Assert.Equal(utc.Length, progress.GetProperty("delayed").GetInt64());
                Assert.Equal(Map(("quiet_hours", utc.Length)), Counts(progress.GetProperty("delayedByReason")));
                Assert.Equal(
                    Map(("no_device", deviceless.Length), ("opted_out", optedOut.Length), ("quiet_hours", newYork.Length), ("unknown_user", 1), ("user_cap", capped.Length)),
                    Counts(progress.GetProperty("skippedByReason")));
                Assert.Equal(progress.GetProperty("targeted").GetInt64(), progress.GetProperty("sent").GetInt64() + progress.GetProperty("skipped").GetInt64());
                Assert.Equal(utc.Length + tokyo.Length + (2 * twoZones.Length), progress.GetProperty("pushes").GetInt64());
                var delivery = report.GetProperty("delivery");
                Assert.Equal(utc.Length + twoZones.Length, delivery.GetProperty("pending").GetInt64());
                Assert.Equal(Map(("quiet_hours", utc.Length + twoZones.Length)), Counts(delivery.GetProperty("pendingByReason")));
                Assert.Empty(delivery.GetProperty("filtered").EnumerateObject());
                Assert.Equal(utc.Length + tokyo.Length + twoZones.Length, report.GetProperty("templates").EnumerateArray().Sum(t => t.GetProperty("users").GetInt64()));

                var targets = await TargetsAsync(server.Admin, "morning");
                Assert.Equal(audience.Length, targets.Count);
                Assert.All(utc, u => Assert.Equal(("delayed", "quiet_hours", 1), targets[u]));
                Assert.All(tokyo, u => Assert.Equal(("sent", null, 1), targets[u]));
                Assert.All(twoZones, u => Assert.Equal(("sent", null, 2), targets[u]));
                Assert.All(newYork, u => Assert.Equal(("skipped", "quiet_hours", 0), targets[u]));
                Assert.All(capped, u => Assert.Equal(("skipped", "user_cap", 0), targets[u]));
                Assert.All(optedOut, u => Assert.Equal(("skipped", "opted_out", 0), targets[u]));
                Assert.All(deviceless, u => Assert.Equal(("skipped", "no_device", 0), targets[u]));
                Assert.Equal(("skipped", "unknown_user", 0), targets["ghost"]);
                output.WriteLine($"the morning campaign ran at 07:00 after {watch.Elapsed}");

                // The late campaign's own cap of 1 skips the users who had one push today; the others wait for 08:00.
                var lateReport = await CampaignTests.ReportAsync(server.Admin, "late");
                Assert.Equal(late.Length + once.Length, lateReport.GetProperty("progress").GetProperty("targeted").GetInt64());
                Assert.Equal(late.Length, lateReport.GetProperty("progress").GetProperty("delayed").GetInt64());
                Assert.Equal(Map(("user_cap", once.Length)), Counts(lateReport.GetProperty("progress").GetProperty("skippedByReason")));
                Assert.Equal(late.Length, lateReport.GetProperty("delivery").GetProperty("pending").GetInt64());

                // Nothing held went out: FCM has the warm-ups and the pushes due now, each once.
                Assert.Equal(warmup + sentNow, fcm.AcceptedCount);
                Assert.DoesNotContain(fcm.Requests, r => Token(r).Contains("-qa", StringComparison.Ordinal) || Token(r).Contains("-qh", StringComparison.Ordinal) || Token(r).Contains("-qc", StringComparison.Ordinal));
            }

            // The server stops (the delayed pushes are only in the journal now) and starts again at 08:45 UTC: the quiet
            // hours have ended, "morning" runs until 09:00, "late" ended at 08:30.
            var warmupPushes = (2 * capped.Length) + once.Length;
            var quarterToNine = new ShiftableTimeProvider { Offset = day.AddHours(8).AddMinutes(45) - DateTimeOffset.UtcNow };
            await using (var server = await TestServer.StartAsync(settings, clock: quarterToNine))
            {
                var pushes = utc.Length + tokyo.Length + (2 * twoZones.Length);
                JsonElement morning = default;
                await Wait.UntilAsync(
                    () => (morning = CampaignTests.ReportAsync(server.Admin, "morning").GetAwaiter().GetResult()).GetProperty("delivery").GetProperty("accepted").GetInt64() == pushes,
                    () => $"every push of the morning campaign accepted after the restart: {morning}",
                    TimeSpan.FromSeconds(120));
                JsonElement lateReport = default;
                await Wait.UntilAsync(
                    () => (lateReport = CampaignTests.ReportAsync(server.Admin, "late").GetAwaiter().GetResult()).GetProperty("delivery").GetProperty("pending").GetInt64() == 0,
                    () => $"the late campaign's held pushes were settled: {lateReport}",
                    TimeSpan.FromSeconds(120));

                Assert.Equal(0, morning.GetProperty("delivery").GetProperty("pending").GetInt64());
                Assert.Empty(morning.GetProperty("delivery").GetProperty("filtered").EnumerateObject());
                Assert.Equal(Map(("expired", late.Length)), Counts(lateReport.GetProperty("delivery").GetProperty("filtered")));
                Assert.Equal(0, lateReport.GetProperty("delivery").GetProperty("accepted").GetInt64());

                // Each push reached FCM once: the warm-ups, then every device of the morning campaign; none of the late one.
                Assert.Equal(warmupPushes + pushes, fcm.AcceptedCount);
                Assert.All(fcm.RequestsByPushId.Values, n => Assert.Equal(1, n));
                // Every device the campaigns reached got exactly its pushes: the capped users' phones two (the warm-ups), the
                // others one each; nobody else (New York, the late campaign, opted out, deviceless) got any.
                string[] expected =
                [
                    .. capped.SelectMany(u => new[] { $"fcm-{u}-phone", $"fcm-{u}-phone" }),
                    .. once.Select(u => $"fcm-{u}-phone"),
                    .. utc.Concat(tokyo).Select(u => $"fcm-{u}-phone"),
                    .. twoZones.SelectMany(u => new[] { $"fcm-{u}-phone", $"fcm-{u}-tablet" }),
                ];
                Assert.Equal(expected.Order(StringComparer.Ordinal), fcm.Requests.Select(Token).Order(StringComparer.Ordinal));

                // The per-user record stays what the runner decided: delayed, for quiet hours.
                var targets = await TargetsAsync(server.Admin, "late");
                Assert.All(late, u => Assert.Equal(("delayed", "quiet_hours", 1), targets[u]));
                Assert.All(once, u => Assert.Equal(("skipped", "user_cap", 0), targets[u]));
                output.WriteLine($"done after {watch.Elapsed}");
            }
        }
        finally
        {
            try
            {
                Directory.Delete(dataDirectory, recursive: true);
            }
            catch (IOException)
            {
            }
        }
    }

    private static SortedDictionary<string, long> Map(params (string Key, long Value)[] entries) =>
        new(entries.ToDictionary(e => e.Key, e => e.Value, StringComparer.Ordinal), StringComparer.Ordinal);

    private static SortedDictionary<string, long> Counts(JsonElement obj) =>
        new(obj.EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetInt64(), StringComparer.Ordinal), StringComparer.Ordinal);

    private static string Token(SimRequest request) =>
        JsonDocument.Parse(request.Body).RootElement.GetProperty("message").GetProperty("token").GetString()!;

    /// <summary>Every target of the campaign, paged through the admin API (1,000 a page); fails on a user listed twice.</summary>
    internal static async Task<Dictionary<string, (string State, string? Reason, int Pushes)>> TargetsAsync(HttpClient admin, string campaignId)
    {
        var all = new Dictionary<string, (string State, string? Reason, int Pushes)>(StringComparer.Ordinal);
        string? after = null;
        do
        {
            var page = await admin.GetFromJsonAsync<JsonElement>($"/admin/v1/business/campaigns/{campaignId}/targets?limit=1000" + (after is null ? "" : "&after=" + Uri.EscapeDataString(after)));
            foreach (var t in page.GetProperty("targets").EnumerateArray())
            {
                all.Add(
                    t.GetProperty("userId").GetString()!,
                    (t.GetProperty("state").GetString()!, t.GetProperty("reason").ValueKind == JsonValueKind.Null ? null : t.GetProperty("reason").GetString(), t.GetProperty("pushes").GetInt32()));
            }

            after = page.GetProperty("next").ValueKind == JsonValueKind.Null ? null : page.GetProperty("next").GetString();
        }
        while (after is not null);

        return all;
    }
}
