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

    /// <summary>
    /// Stop 47 (issue 17): a send loop writes its sent batch's results and its next batch's claims in one statement. The
    /// kill lands between a batch's claim and its settle: the vendor holds every request from some point on (read, never
    /// answered), so the loops' batches in flight are claimed and unsettled. In the file at the kill every push the vendor
    /// saw is Sending or settled (claimed before its request: none is Pending, which a restart would send again), a push
    /// settled Accepted was delivered, and at most one batch per loop is claimed and unsettled. After the restart the held
    /// pushes are parked (unknown_after_crash, never re-sent on a vendor without a de-duplication key), every other
    /// accepted push is delivered once, and no push id reached the vendor twice.
    /// </summary>
    [Fact]
    public async Task Kill9BetweenClaimAndSettle_ClaimedBeforeSent_HeldPushesParked_NoneSentTwice()
    {
        const int Workers = 8;
        const int Batch = 16;
        await using var sim = new XiaomiSimulator(TimeProvider.System);
        await sim.StartAsync();
        sim.DelayAll = TimeSpan.FromMilliseconds(10);
        var directory = Path.Combine(Path.GetTempPath(), "parley-crash-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(directory);
        var db = Path.Combine(directory, "push.db");
        var key = Convert.ToHexString(RandomNumberGenerator.GetBytes(32));
        var pushKey = PushIdKey.Derive(Convert.FromHexString(key));
        try
        {
            var accepted = new ConcurrentBag<string>();
            using (var burst = StartHost(db, sim.BaseUri, key, "burst"))
            {
                var reader = ReadLinesAsync(burst, line =>
                {
                    if (line.StartsWith("ACCEPTED ", StringComparison.Ordinal))
                    {
                        accepted.Add(line[9..]);
                    }
                });
                await PushHarness.WaitUntilAsync(() => accepted.Count >= 15 && sim.Delivered.Count >= 20 || burst.HasExited, "the burst to be under way", 60000);
                Assert.False(burst.HasExited, "the host finished before it could be killed; slow the simulator down");
                sim.HoldAll = true;
                await PushHarness.WaitUntilAsync(() => sim.Held.Count >= Workers || burst.HasExited, "requests to be held", 60000);
                await Task.Delay(500); // the answered batches' results written with the held batches' claims
                Assert.False(burst.HasExited, "the host finished before it could be killed");
                burst.Kill(); // SIGKILL on Linux: no shutdown, no flush
                await burst.WaitForExitAsync();
                await reader;
            }

            var held = sim.Held.Keys.ToHashSet(StringComparer.Ordinal);
            var delivered = sim.Delivered.Keys.ToHashSet(StringComparer.Ordinal);
            Assert.NotEmpty(held);

            // The file as the kill left it.
            var sending = 0;
            var heldSending = 0;
            await using (var owner = new SqliteDatabase(new SqliteStoreOptions { DataSource = db }))
            {
                await owner.InitializeAsync();
                var journal = new SqlitePushJournal(owner);
                foreach (var id in held)
                {
                    // Claimed before its request; settled only if its 10-s timeout fired before the kill (a stalled machine).
                    var row = await journal.GetAsync(id);
                    Assert.NotNull(row);
                    Assert.True(
                        row.State == PushState.Sending || (row.State == PushState.DeadLettered && row.Reason!.StartsWith("outcome_unknown", StringComparison.Ordinal)),
                        $"held push {id} is {row.State} ({row.Reason}) at the kill: claimed after its request was written");
                    heldSending += row.State == PushState.Sending ? 1 : 0;
                }

                foreach (var id in delivered)
                {
                    var row = await journal.GetAsync(id);
                    Assert.NotNull(row);
                    Assert.True(row.State is PushState.Accepted or PushState.Sending, $"delivered push {id} is {row.State} at the kill");
                }

                foreach (var message in accepted)
                {
                    for (var u = 0; u < Users; u++)
                    {
                        var row = await journal.GetAsync(PushIds.PushId(pushKey, message, "u" + u, "phone"));
                        Assert.NotNull(row); // accepted ⇒ journaled
                        if (row.State == PushState.Accepted)
                        {
                            Assert.Contains(row.PushId, delivered); // settled Accepted ⇒ the vendor took it
                        }

                        sending += row.State == PushState.Sending ? 1 : 0;
                    }
                }
            }

            Assert.True(heldSending > 0, "no held push was claimed and unsettled at the kill");
            Assert.True(sending <= Workers * Batch, $"{sending} pushes claimed and unsettled at the kill; at most one batch per loop ({Workers} x {Batch})");

            sim.HoldAll = false;
            using (var drain = StartHost(db, sim.BaseUri, key, "drain"))
            {
                var drained = false;
                var reader = ReadLinesAsync(drain, line => drained |= line == "DRAINED");
                await drain.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(120));
                await reader;
                Assert.True(drained, "the restarted host drained the journal");
            }

            await using var after = new SqliteDatabase(new SqliteStoreOptions { DataSource = db });
            await after.InitializeAsync();
            var drainedJournal = new SqlitePushJournal(after);
            foreach (var message in accepted)
            {
                for (var u = 0; u < Users; u++)
                {
                    var pushId = PushIds.PushId(pushKey, message, "u" + u, "phone");
                    var row = (await drainedJournal.GetAsync(pushId))!;
                    if (held.Contains(pushId))
                    {
                        Assert.Equal(PushState.DeadLettered, row.State);
                        Assert.True(row.Reason is "unknown_after_crash" || row.Reason!.StartsWith("outcome_unknown", StringComparison.Ordinal), row.Reason);
                        Assert.False(sim.RequestsByPushId.ContainsKey(pushId), $"held push {pushId} was sent again after the restart");
                    }
                    else if (row.State == PushState.Accepted)
                    {
                        Assert.Equal(1, sim.Delivered.GetValueOrDefault(pushId));
                    }
                    else
                    {
                        // Claimed (or answered) and unsettled at the kill: parked, sent at most once.
                        Assert.Equal((PushState.DeadLettered, "unknown_after_crash"), (row.State, row.Reason));
                        Assert.True(sim.RequestsByPushId.GetValueOrDefault(pushId) <= 1);
                    }
                }
            }

            Assert.All(sim.RequestsByPushId, kv => Assert.True(kv.Value == 1, $"push {kv.Key} was sent {kv.Value} times"));
            Assert.All(sim.Held, kv => Assert.True(kv.Value == 1, $"push {kv.Key} was held {kv.Value} times"));
            Assert.True(sim.Delivered.Count > delivered.Count, "the restarted host sent what the killed one had not");
        }
        finally
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            Directory.Delete(directory, recursive: true);
        }
    }

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
