using System.Collections.Concurrent;
using System.Diagnostics;
using System.Security.Cryptography;
using Parley.Abstractions.Push;
using Parley.Push.Internal;
using Parley.Push.Tests.Simulators;
using Parley.Storage.Sqlite;
using Parley.Storage.Sqlite.Push;

namespace Parley.Push.Tests;

public sealed class CrashRecoveryTests
{
    private const int Users = 5;
    private const int Messages = 60;

    [Fact]
    public Task Kill9DuringBurst_NoAcceptedPushLost_NoneSentTwiceWithTheSamePushId() => Kill9DuringBurstAsync("burst");

    /// <summary>Stop 41: messages submitted 8 at a time through SubmitManyAsync, each group journaled in one append.</summary>
    [Fact]
    public Task Kill9DuringGroupedBurst_NoAcceptedPushLost_NoneSentTwiceWithTheSamePushId() => Kill9DuringBurstAsync("groups");

    private static async Task Kill9DuringBurstAsync(string mode)
    {
        await using var sim = new XiaomiSimulator(TimeProvider.System);
        await sim.StartAsync();
        sim.DelayAll = TimeSpan.FromMilliseconds(15); // slow vendor: the kill lands with requests in flight
        var directory = Path.Combine(Path.GetTempPath(), "parley-crash-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(directory);
        var db = Path.Combine(directory, "push.db");
        var key = Convert.ToHexString(RandomNumberGenerator.GetBytes(32));
        try
        {
            var accepted = new ConcurrentBag<string>();
            using (var burst = StartHost(db, sim.BaseUri, key, mode))
            {
                var reader = ReadLinesAsync(burst, line =>
                {
                    if (line.StartsWith("ACCEPTED ", StringComparison.Ordinal))
                    {
                        accepted.Add(line[9..]);
                    }
                });
                await PushHarness.WaitUntilAsync(() => accepted.Count >= 15 && sim.Requests.Count >= 20 || burst.HasExited, "the burst to be under way", 60000);
                Assert.False(burst.HasExited, "the host finished before it could be killed; slow the simulator down");
                burst.Kill(); // SIGKILL on Linux: no shutdown, no flush
                await burst.WaitForExitAsync();
                await reader;
            }

            var sentBeforeKill = sim.Requests.Count;
            Assert.True(sentBeforeKill < Users * Messages, "the kill happened mid-burst");

            using (var drain = StartHost(db, sim.BaseUri, key, "drain"))
            {
                var drained = false;
                var reader = ReadLinesAsync(drain, line => drained |= line == "DRAINED");
                await drain.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(120));
                await reader;
                Assert.True(drained, "the restarted host drained the journal");
            }

            await using var owner = new SqliteDatabase(new SqliteStoreOptions { DataSource = db });
            await owner.InitializeAsync();
            var journal = new SqlitePushJournal(owner);
            var unknown = 0;
            foreach (var message in accepted)
            {
                for (var u = 0; u < Users; u++)
                {
                    var pushId = PushIds.PushId(PushIdKey.Derive(Convert.FromHexString(key)), message, "u" + u, "phone");
                    var row = await journal.GetAsync(pushId);
                    Assert.NotNull(row); // accepted ⇒ journaled
                    if (row.State == PushState.Accepted)
                    {
                        Assert.Equal(1, sim.Delivered.GetValueOrDefault(pushId));
                    }
                    else
                    {
                        // Caught mid-request by the kill, on a vendor without a dedup key: parked, not re-sent blindly.
                        Assert.Equal(PushState.DeadLettered, row.State);
                        Assert.Equal("unknown_after_crash", row.Reason);
                        unknown++;
                    }
                }
            }

            Assert.All(sim.RequestsByPushId, kv => Assert.True(kv.Value == 1, $"push {kv.Key} was sent {kv.Value} times"));
            Assert.True(unknown <= 8, $"{unknown} pushes were in flight at the kill; at most one per worker (8)");
            Assert.True(sim.Requests.Count > sentBeforeKill, "the restarted host sent what the killed one had not");
        }
        finally
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            Directory.Delete(directory, recursive: true);
        }
    }

    private static Process StartHost(string db, Uri sim, string key, string mode)
    {
        var dll = Path.Combine(
            AppContext.BaseDirectory.Replace($"{Path.DirectorySeparatorChar}Parley.Push.Tests{Path.DirectorySeparatorChar}", $"{Path.DirectorySeparatorChar}Parley.Push.CrashHost{Path.DirectorySeparatorChar}", StringComparison.Ordinal),
            "Parley.Push.CrashHost.dll");
        Assert.True(File.Exists(dll), "crash host not built at " + dll);
        var info = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var a in new[] { dll, db, sim.ToString(), key, mode, Users.ToString(System.Globalization.CultureInfo.InvariantCulture), Messages.ToString(System.Globalization.CultureInfo.InvariantCulture) })
        {
            info.ArgumentList.Add(a);
        }

        return Process.Start(info)!;
    }

    private static async Task ReadLinesAsync(Process process, Action<string> onLine)
    {
        while (await process.StandardOutput.ReadLineAsync() is { } line)
        {
            onLine(line);
        }
    }
}
