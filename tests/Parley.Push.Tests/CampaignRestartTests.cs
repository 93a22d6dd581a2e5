using System.Globalization;
using System.Security.Cryptography;
using System.Text.Json;
using Parley.Abstractions.Accounts;
using Parley.Abstractions.Push;
using Parley.Push.Tests.Simulators;
using Parley.Storage.Sqlite;
using Parley.Storage.Sqlite.Push;

namespace Parley.Push.Tests;

/// <summary>
/// A campaign survives kill -9 of the real server process (src/Parley.Server, built first) mid-run: the restarted server
/// takes the campaign over once the dead process's lease expires and resumes after the last committed chunk. Every audience
/// member is processed exactly once, every journaled push reached FCM at most once (one caught mid-request by the kill is
/// parked as unknown_after_crash for an admin to replay, FCM having no dedup key), and none is lost.
/// </summary>
public sealed class CampaignRestartTests
{
    [Fact]
    public async Task Kill9MidCampaign_RestartResumes_NoUserTwice_NoPushTwice_NoneLost()
    {
        const int Users = 1_500;
        await using var fcm = new FcmSimulator(TimeProvider.System);
        await fcm.StartAsync();
        fcm.DelayAll = TimeSpan.FromMilliseconds(5); // requests in flight when the kill lands
        var directory = Path.Combine(Path.GetTempPath(), "parley-campaign-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(directory);
        var key = RandomNumberGenerator.GetBytes(32);
        try
        {
            // The users and their devices, written into the data directory's database before the server first starts.
            await using (var owner = new SqliteDatabase(new SqliteStoreOptions { DataSource = Path.Combine(directory, "parley.db") }))
            {
                await owner.InitializeAsync();
                var accounts = new SqliteAccountStore(owner);
                var devices = new SqliteDeviceStore(owner, key);
                var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
                await Parallel.ForEachAsync(Enumerable.Range(0, Users), new ParallelOptions { MaxDegreeOfParallelism = 64 }, async (i, ct) =>
                {
                    var id = "r" + i.ToString("D5", CultureInfo.InvariantCulture);
                    Assert.True(await accounts.CreateUserAsync(new UserRecord(id, id, string.Empty, string.Empty, now, now), ct));
                    await devices.UpsertAsync(new PushDevice(id, "phone", "android", PushVendor.Fcm, "fcm-" + id, "com.example.shop", PushEnvironment.Production, true, "en", "UTC", now, now), ct);
                });
            }

            await using var server = new ServerProcess(directory);
            server.Configure(CampaignTests.Settings(fcm, ("Parley:Campaigns:LeaseDuration", "00:00:03")));
            server.Settings["Parley__Push__TokenKey"] = Convert.ToBase64String(key);
            await server.StartAsync();
            var ids = Enumerable.Range(0, Users).Select(i => "r" + i.ToString("D5", CultureInfo.InvariantCulture)).ToArray();
            await CampaignTests.CreateAsync(server.Admin, new { campaignId = "resume", name = "Resume", audience = new { userIds = ids }, templates = CampaignTests.Templates(), expiresAt = DateTimeOffset.UtcNow.AddHours(1).ToUnixTimeMilliseconds(), ratePerSecond = 300 });
            long before = 0;
            await Wait.UntilAsync(
                () => (before = CampaignTests.ReportAsync(server.Admin, "resume").GetAwaiter().GetResult().GetProperty("progress").GetProperty("targeted").GetInt64()) >= 400,
                "the campaign is under way",
                TimeSpan.FromSeconds(30));
            await server.KillAsync(); // SIGKILL: no shutdown, the lease is not released
            var sentBeforeKill = fcm.Requests.Count;
            Assert.True(before < Users, "the kill landed mid-campaign");

            await server.StartAsync();
            var done = await CampaignTests.WaitForStateAsync(server.Admin, "resume", "done", TimeSpan.FromSeconds(60));
            JsonElement report = done;
            await Wait.UntilAsync(
                () => (report = CampaignTests.ReportAsync(server.Admin, "resume").GetAwaiter().GetResult()).GetProperty("delivery").GetProperty("pending").GetInt64() == 0,
                "every journaled push was dispatched",
                TimeSpan.FromSeconds(60));

            // Every user processed once and pushed once: the targets are exactly the audience, every push id reached FCM at most once.
            var progress = report.GetProperty("progress");
            Assert.Equal(Users, progress.GetProperty("targeted").GetInt64());
            Assert.Equal(Users, progress.GetProperty("sent").GetInt64());
            Assert.Equal(Users, progress.GetProperty("pushes").GetInt64());
            Assert.All(fcm.RequestsByPushId, kv => Assert.Equal(1, kv.Value));
            var tokens = fcm.Requests.Select(r => JsonDocument.Parse(r.Body).RootElement.GetProperty("message").GetProperty("token").GetString()!).ToList();
            Assert.Equal(tokens.Count, tokens.Distinct(StringComparer.Ordinal).Count());

            // None lost: each journaled push was accepted, or (cut mid-request by the kill) parked as unknown_after_crash.
            var delivery = report.GetProperty("delivery");
            var accepted = delivery.GetProperty("accepted").GetInt64();
            var unknown = delivery.GetProperty("failed").TryGetProperty("unknown_after_crash", out var u) ? u.GetInt64() : 0;
            Assert.Equal(Users, accepted + unknown);
            Assert.InRange(unknown, 0, 64);
            Assert.True(fcm.Requests.Count > sentBeforeKill, "the restarted server sent the rest");
            Assert.InRange(fcm.Requests.Count, accepted, accepted + unknown);
            Assert.Subset(ids.Select(i => "fcm-" + i).ToHashSet(StringComparer.Ordinal), tokens.ToHashSet(StringComparer.Ordinal));
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
}
