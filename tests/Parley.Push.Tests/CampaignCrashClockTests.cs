using System.Globalization;
using System.Security.Cryptography;
using System.Text.Json;
using Parley.Abstractions.Accounts;
using Parley.Abstractions.Push;
using Parley.Push.Tests.Simulators;
using Parley.Storage.Sqlite;
using Parley.Storage.Sqlite.Push;
using Xunit.Abstractions;

namespace Parley.Push.Tests;

/// <summary>
/// Quiet hours across a crash: the real server process (src/Parley.Server), on a clock set to 07:00 UTC through the
/// Parley.TestClock startup hook, runs a campaign whose reachable users are all inside their quiet hours (22:00–08:00 in
/// each device's time zone), so every push it journals waits in the journal; it is killed with SIGKILL mid-campaign and
/// started again on the same data at 08:45. The restarted process takes the campaign over from its last committed chunk
/// and sends the held pushes and the rest: every targeted user is decided exactly once, every reachable device gets
/// exactly one push (none lost, none twice), nothing went out during the quiet hours, and the report adds up.
/// </summary>
public sealed class CampaignCrashClockTests(ITestOutputHelper output)
{
    [Fact]
    public async Task Kill9WhileQuietHoursHoldTheCampaignsPushes_RestartAfterThem_EveryUserOnce_EveryDeviceOnePush()
    {
        // The audience in user-id order (the order the runner walks): UTC users (in their quiet hours until 08:00 UTC, before
        // the campaign's end at 09:30: delayed), New York (until 12:00 or 13:00 UTC, after the end: skipped quiet_hours),
        // opted out, deviceless, and an unknown user.
        string[] Ids(string prefix, int count) => [.. Enumerable.Range(0, count).Select(i => prefix + i.ToString("D5", CultureInfo.InvariantCulture))];
        var utc = Ids("ka", 2_000);
        var newYork = Ids("kb", 500);
        var optedOut = Ids("kc", 100);
        var deviceless = Ids("kd", 100);
        string[] audience = [.. utc, .. newYork, .. optedOut, .. deviceless, "kz-ghost"];
        const int Rate = 150; // users per second: the UTC users alone take over 13 s, so the kill lands among them

        var day = new DateTimeOffset(DateTimeOffset.UtcNow.UtcDateTime.Date.AddDays(1), TimeSpan.Zero);
        await using var fcm = new FcmSimulator(TimeProvider.System);
        await fcm.StartAsync();
        var directory = Path.Combine(Path.GetTempPath(), "parley-campaign-crash-clock-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(directory);
        var key = RandomNumberGenerator.GetBytes(32);
        var watch = System.Diagnostics.Stopwatch.StartNew();
        try
        {
            // Users, devices and opt-outs written into the data directory's database before the server first starts.
            await using (var owner = new SqliteDatabase(new SqliteStoreOptions { DataSource = Path.Combine(directory, "parley.db") }))
            {
                await owner.InitializeAsync();
                var accounts = new SqliteAccountStore(owner);
                var devices = new SqliteDeviceStore(owner, key);
                var settings = new SqlitePushSettingsStore(owner);
                var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
                string? ZoneOf(string id) => id.StartsWith("kb", StringComparison.Ordinal) ? "America/New_York" : id.StartsWith("kd", StringComparison.Ordinal) ? null : "UTC";
                await Parallel.ForEachAsync(audience.SkipLast(1), new ParallelOptions { MaxDegreeOfParallelism = 256 }, async (id, ct) =>
                {
                    Assert.True(await accounts.CreateUserAsync(new UserRecord(id, id, string.Empty, string.Empty, now, now), ct));
                    if (ZoneOf(id) is { } zone)
                    {
                        await devices.UpsertAsync(new PushDevice(id, "phone", "android", PushVendor.Fcm, "fcm-" + id, "com.example.shop", PushEnvironment.Production, true, "en", zone, now, now), ct);
                    }

                    if (id.StartsWith("kc", StringComparison.Ordinal))
                    {
                        await settings.SetMarketingOptOutAsync(id, true, now, ct);
                    }
                });
            }

            output.WriteLine($"seeded {audience.Length - 1} users in {watch.Elapsed}");
            await using var server = new ServerProcess(directory);
            foreach (var (k, v) in CampaignTests.Settings(
                         fcm,
                         ("Parley:Push:QuietHoursStart", "22:00"),
                         ("Parley:Push:QuietHoursEnd", "08:00"),
                         ("Parley:Campaigns:LeaseDuration", "00:00:03")))
            {
                server.Settings[k.Replace(":", "__", StringComparison.Ordinal)] = v!;
            }

            server.Settings["Parley__Push__TokenKey"] = Convert.ToBase64String(key);
            server.Settings["DOTNET_STARTUP_HOOKS"] = TestClockHook;
            SetClock(server, day.AddHours(7));
            await server.StartAsync();
            output.WriteLine($"started at 07:00 after {watch.Elapsed}");

            await CampaignTests.CreateAsync(server.Admin, new { campaignId = "dawn", name = "Dawn", audience = new { userIds = audience }, templates = CampaignTests.Templates(), expiresAt = day.AddHours(9).AddMinutes(30).ToUnixTimeMilliseconds(), ratePerSecond = Rate });
            JsonElement before = default;
            await Wait.UntilAsync(
                () => (before = CampaignTests.ReportAsync(server.Admin, "dawn").GetAwaiter().GetResult()).GetProperty("progress").GetProperty("targeted").GetInt64() >= 300,
                "the campaign is under way",
                TimeSpan.FromSeconds(60));
            await server.KillAsync(); // SIGKILL: no shutdown, the lease is not released, the journal is what was committed
            output.WriteLine($"killed after {watch.Elapsed}: {before}");

            // Before the kill: the users processed so far were delayed, their pushes held in the journal, none sent.
            var targetedBefore = before.GetProperty("progress").GetProperty("targeted").GetInt64();
            Assert.True(targetedBefore < utc.Length, $"the kill landed among the UTC users ({targetedBefore} processed)");
            Assert.True(before.GetProperty("progress").GetProperty("delayed").GetInt64() > 0, "pushes were held for quiet hours before the kill");
            // (A chunk's pushes are journaled before its targets are committed, so the journal may hold one chunk more.)
            Assert.True(before.GetProperty("delivery").GetProperty("pending").GetInt64() >= before.GetProperty("progress").GetProperty("delayed").GetInt64(), "the delayed users' pushes are pending in the journal");
            Assert.Empty(fcm.Requests);

            // The same data at 08:45: the quiet hours of UTC have ended, New York's have not, the campaign runs until 09:30.
            SetClock(server, day.AddHours(8).AddMinutes(45));
            await server.StartAsync();
            output.WriteLine($"restarted at 08:45 after {watch.Elapsed}");
            await CampaignTests.WaitForStateAsync(server.Admin, "dawn", "done", TimeSpan.FromSeconds(120));
            JsonElement report = default;
            await Wait.UntilAsync(
                () => (report = CampaignTests.ReportAsync(server.Admin, "dawn").GetAwaiter().GetResult()).GetProperty("delivery").GetProperty("accepted").GetInt64() >= utc.Length,
                () => $"every UTC device's push accepted: {report}",
                TimeSpan.FromSeconds(120));
            output.WriteLine($"done after {watch.Elapsed}");

            // Every user decided once: the targets are exactly the audience, each with one outcome.
            var targets = await CampaignClockTests.TargetsAsync(server.Admin, "dawn");
            Assert.Equal(audience.Order(StringComparer.Ordinal), targets.Keys.Order(StringComparer.Ordinal));
            var delayed = utc.Where(u => targets[u].State == "delayed").ToList();
            Assert.All(utc, u => Assert.Contains(targets[u], new[] { ("delayed", (string?)"quiet_hours", 1), ("sent", (string?)null, 1) }));
            Assert.InRange(delayed.Count, before.GetProperty("progress").GetProperty("delayed").GetInt64(), utc.Length - 1); // held before the kill; the rest decided at 08:45
            Assert.All(newYork, u => Assert.Equal(("skipped", "quiet_hours", 0), targets[u]));
            Assert.All(optedOut, u => Assert.Equal(("skipped", "opted_out", 0), targets[u]));
            Assert.All(deviceless, u => Assert.Equal(("skipped", "no_device", 0), targets[u]));
            Assert.Equal(("skipped", "unknown_user", 0), targets["kz-ghost"]);

            // Every reachable device got exactly one push, the held ones included; nobody else got one.
            Assert.Equal(utc.Select(u => "fcm-" + u).Order(StringComparer.Ordinal), fcm.Requests.Select(Token).Order(StringComparer.Ordinal));
            Assert.All(fcm.RequestsByPushId.Values, n => Assert.Equal(1, n));

            // The report adds up: targeted = sent + skipped by reason; every push accepted, none pending, failed or filtered.
            var progress = report.GetProperty("progress");
            Assert.Equal(audience.Length, progress.GetProperty("targeted").GetInt64());
            Assert.Equal(utc.Length, progress.GetProperty("sent").GetInt64());
            Assert.Equal(delayed.Count, progress.GetProperty("delayed").GetInt64());
            Assert.Equal(utc.Length, progress.GetProperty("pushes").GetInt64());
            Assert.Equal(audience.Length - utc.Length, progress.GetProperty("skipped").GetInt64());
            Assert.Equal(
                new SortedDictionary<string, long>(StringComparer.Ordinal) { ["no_device"] = deviceless.Length, ["opted_out"] = optedOut.Length, ["quiet_hours"] = newYork.Length, ["unknown_user"] = 1 },
                new SortedDictionary<string, long>(progress.GetProperty("skippedByReason").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetInt64(), StringComparer.Ordinal), StringComparer.Ordinal));
            var delivery = report.GetProperty("delivery");
            Assert.Equal(utc.Length, delivery.GetProperty("accepted").GetInt64());
            Assert.Equal(0, delivery.GetProperty("pending").GetInt64());
            Assert.Empty(delivery.GetProperty("failed").EnumerateObject());
            Assert.Empty(delivery.GetProperty("filtered").EnumerateObject());
            Assert.Equal(utc.Length, report.GetProperty("templates").EnumerateArray().Sum(t => t.GetProperty("users").GetInt64()));
        }
        finally
        {
            try
            {
                Directory.Delete(directory, recursive: true);
            }
            catch (IOException)
            {
            }
        }
    }

    /// <summary>The Parley.TestClock startup hook: referenced by this project, so it is next to its assembly.</summary>
    internal static string TestClockHook
    {
        get
        {
            var dll = Path.Combine(AppContext.BaseDirectory, "Parley.TestClock.dll");
            Assert.True(File.Exists(dll), "the test clock hook is not built at " + dll);
            return dll;
        }
    }

    /// <summary>The next start of <paramref name="server"/> runs on a clock that reads <paramref name="at"/> now.</summary>
    internal static void SetClock(ServerProcess server, DateTimeOffset at) =>
        server.Settings["PARLEY_TEST_CLOCK_OFFSET_MS"] = ((long)(at - DateTimeOffset.UtcNow).TotalMilliseconds).ToString(CultureInfo.InvariantCulture);

    private static string Token(SimRequest request) =>
        JsonDocument.Parse(request.Body).RootElement.GetProperty("message").GetProperty("token").GetString()!;
}
