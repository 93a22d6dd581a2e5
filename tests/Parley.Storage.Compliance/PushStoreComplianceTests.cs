using System.Security.Cryptography;
using Parley.Abstractions.Push;

namespace Parley.Storage.Compliance;

/// <summary>
/// The behaviour every provider of the push ports (<see cref="IDeviceStore"/>, <see cref="IPushJournal"/>,
/// <see cref="IPushSettingsStore"/>) must show; SQLite and PostgreSQL run it unchanged.
/// </summary>
public abstract class PushStoreComplianceTests : IAsyncLifetime
{
    private static readonly byte[] Key = RandomNumberGenerator.GetBytes(32);

    protected IDeviceStore Devices { get; private set; } = null!;

    protected IPushJournal Journal { get; private set; } = null!;

    protected IPushSettingsStore Settings { get; private set; } = null!;

    /// <summary>A device store with <paramref name="tokenKey"/>, a journal and a settings store over this test's (one, initially empty) storage.</summary>
    protected abstract (IDeviceStore Devices, IPushJournal Journal, IPushSettingsStore Settings) OpenStores(byte[] tokenKey);

    public virtual async Task InitializeAsync()
    {
        (Devices, Journal, Settings) = OpenStores(Key);
        await Devices.InitializeAsync();
        await Journal.InitializeAsync();
    }

    public virtual Task DisposeAsync() => Task.CompletedTask;

    protected static PushDevice Device(string user, string device, PushVendor vendor, string token) =>
        new(user, device, vendor.ToString().ToLowerInvariant(), vendor, token, "app", PushEnvironment.Production, true, "en-US", "UTC", 10_000, 9_000);

    protected static PushRecord Push(string pushId, string messageId, long createdAt, PushState state = PushState.Pending, string? digest = null) =>
        new(pushId, messageId, "trace-" + pushId, "bob", "p1", PushVendor.Fcm, PushCategory.Im, state, "{\"t\":\"" + pushId + "\"}", createdAt, createdAt, 0, null, digest, null, null, null);

    [StoreFact]
    public async Task Journal_CampaignRows_CountedByStateReasonAndTemplate_PendingOnesFilteredOnCancel()
    {
        static PushRecord Row(string id, PushState state, string? template, string? reason = null) =>
            Push(id, "campaign:c1", 1_000, state) with
            {
                Category = PushCategory.Marketing,
                Payload = template is null ? "{}" : "{\"pushId\":\"" + id + "\",\"templateId\":\"" + template + "\"}",
                Reason = reason,
            };

        await Journal.AppendAsync([
            Row("a1", PushState.Pending, "a"), Row("a2", PushState.Pending, "a"), Row("b1", PushState.Pending, "b"),
            Row("f1", PushState.Filtered, null, "dnd"), Push("other", "m2", 1_000)]);
        await Journal.UpdateStateAsync("a1", PushState.Accepted, 1, 1_000, null, 1_100);
        await Journal.MarkArrivedAsync("a1", 1_200);
        await Journal.MarkClickedAsync("a1", 1_300);

        Assert.Equal(2, await Journal.FilterPendingAsync("campaign:c1", "cancelled"));
        Assert.Equal(0, await Journal.FilterPendingAsync("campaign:c1", "cancelled"));
        Assert.Equal(PushState.Pending, (await Journal.GetAsync("other"))!.State);

        var counts = (await Journal.CountByMessageAsync("campaign:c1")).OrderBy(c => c.State).ThenBy(c => c.Reason, StringComparer.Ordinal).ThenBy(c => c.TemplateId, StringComparer.Ordinal).ToList();
        Assert.Equal(
            [
                new PushJournalCount(PushState.Accepted, null, "a", 1, 1, 1),
                new PushJournalCount(PushState.Filtered, "cancelled", "a", 1, 0, 0),
                new PushJournalCount(PushState.Filtered, "cancelled", "b", 1, 0, 0),
                new PushJournalCount(PushState.Filtered, "dnd", null, 1, 0, 0),
            ],
            counts);
    }

    [StoreFact]
    public async Task Devices_UpdateMoveTouchRemoveAndInvalidate()
    {
        await Devices.UpsertAsync(Device("bob", "p1", PushVendor.Huawei, "tok-1"));
        await Devices.UpsertAsync(Device("bob", "p2", PushVendor.Apns, "tok-2") with { Environment = PushEnvironment.Sandbox, Locale = "zh-CN", TimeZone = "Asia/Shanghai" });

        // The same phone logs in as carol: the token leaves bob.
        await Devices.UpsertAsync(Device("carol", "p9", PushVendor.Huawei, "tok-1"));
        Assert.Null(await Devices.GetAsync("bob", "p1"));

        var bob = Assert.Single(await Devices.ListAsync(["bob"]));
        Assert.Equal(PushEnvironment.Sandbox, bob.Environment);
        Assert.Equal("Asia/Shanghai", bob.TimeZone);
        Assert.Equal("tok-2", bob.Token);
        Assert.True(await Devices.TouchAsync("bob", "p2", bob.LastSeenAt + 5000));
        Assert.True(await Devices.TouchAsync("bob", "p2", bob.LastSeenAt + 1)); // never moves back
        Assert.Equal(bob.LastSeenAt + 5000, (await Devices.GetAsync("bob", "p2"))!.LastSeenAt);
        Assert.True(await Devices.SetNotificationsEnabledAsync("bob", "p2", false));
        Assert.False((await Devices.GetAsync("bob", "p2"))!.NotificationsEnabled);

        // Invalidation only hits the token the vendor rejected, not a newer one.
        await Devices.UpsertAsync(Device("bob", "p2", PushVendor.Apns, "tok-3"));
        Assert.False(await Devices.InvalidateTokenAsync("bob", "p2", "tok-2", 1));
        Assert.True(await Devices.InvalidateTokenAsync("bob", "p2", "tok-3", 1));
        var invalid = (await Devices.GetAsync("bob", "p2"))!;
        Assert.Equal(1, invalid.TokenInvalidAt);
        Assert.Equal("", invalid.Token);

        Assert.True(await Devices.RemoveAsync("bob", "p2"));
        Assert.False(await Devices.RemoveAsync("bob", "p2"));
        Assert.Single(await Devices.ListAsync(["bob", "carol", "carol"]));
        Assert.Empty(await Devices.ListAsync([]));
    }

    // The push pipeline reads every recipient's devices at submit and a batch's devices before sending (stop 40: SQLite
    // steps one prepared statement per user): every device of every user asked once, tokens decrypted, a user's devices in
    // device id order, users repeated or unknown changing nothing, also past the old 500-user chunk.
    [StoreFact]
    public async Task Devices_ListManyUsers_EachDeviceOnce_TokensDecrypted_DevicesInIdOrder()
    {
        for (var i = 0; i < 620; i++)
        {
            await Devices.UpsertAsync(Device("u" + i, "phone", PushVendor.Xiaomi, "regid-" + i));
        }

        await Devices.UpsertAsync(Device("u7", "b-tablet", PushVendor.Huawei, "hms-7"));
        await Devices.UpsertAsync(Device("u7", "a-watch", PushVendor.Fcm, "fcm-7"));
        await Devices.RemoveAsync("u9", "phone");

        var asked = Enumerable.Range(0, 620).Select(i => "u" + i).Concat(["u7", "nobody", "u3"]).Reverse().ToList();
        var listed = await Devices.ListAsync(asked);
        Assert.Equal(619 + 2, listed.Count);
        Assert.Equal(listed.Count, listed.Select(d => (d.UserId, d.DeviceId)).Distinct().Count());
        Assert.All(listed.Where(d => d.DeviceId == "phone"), d => Assert.Equal("regid-" + d.UserId[1..], d.Token));
        Assert.Equal(["a-watch", "b-tablet", "phone"], listed.Where(d => d.UserId == "u7").Select(d => d.DeviceId));
        Assert.Equal(["fcm-7", "hms-7", "regid-7"], listed.Where(d => d.UserId == "u7").Select(d => d.Token));
        Assert.DoesNotContain(listed, d => d.UserId == "u9");
        Assert.Equal(2, (await Devices.ListAsync(new HashSet<string>(["u1", "u2"], StringComparer.Ordinal))).Count);
    }

    [StoreFact]
    public async Task Devices_AnotherKeyReadsNoToken()
    {
        await Devices.UpsertAsync(Device("bob", "p1", PushVendor.Fcm, "SECRET-VENDOR-TOKEN"));
        var (thief, _, _) = OpenStores(RandomNumberGenerator.GetBytes(32));
        await thief.InitializeAsync();
        Assert.Equal("", (await thief.GetAsync("bob", "p1"))!.Token);
        Assert.Equal("SECRET-VENDOR-TOKEN", (await Devices.GetAsync("bob", "p1"))!.Token);
    }

    // ADR 0014: only the owner claims (once); a lapsed or released lease lets exactly one other instance adopt the open
    // rows (and a restarted node adopts its own previous incarnation's at once); the old owner's claims then fail.
    [StoreFact]
    public async Task Journal_Ownership_ClaimOnceByTheOwner_AdoptionOnceAfterTheLeaseLapses_TheFenceHolds()
    {
        await Journal.AppendAsync([
            Push("p1", "m1", 100) with { Owner = "n1/a" },
            Push("p2", "m1", 101) with { Owner = "n1/a" },
            Push("p3", "m1", 102) with { Owner = "n1/a" },
            Push("q1", "m2", 103) with { Owner = "n2/b" }]);
        await Journal.RenewLeaseAsync("n1/a", 10_000);
        await Journal.RenewLeaseAsync("n2/b", 10_000);
        Assert.Equal("n1/a", (await Journal.GetAsync("p1"))!.Owner);

        Assert.False(await Journal.ClaimAsync("p1", "n2/b", 1)); // not the owner
        Assert.True(await Journal.ClaimAsync("p1", "n1/a", 1));
        Assert.False(await Journal.ClaimAsync("p1", "n1/a", 1)); // once
        Assert.Equal((PushState.Sending, 1), ((await Journal.GetAsync("p1"))!.State, (await Journal.GetAsync("p1"))!.Attempts));

        // While n1/a's lease is live nobody adopts its rows; n2/b's own rows are never adopted by itself.
        Assert.Empty(await Journal.AdoptAsync("n2/b", "n2/", 5_000, 100));

        // n1/a's lease lapsed (n2/b's is renewed): two adopters at once, each row to exactly one of them, Pending and
        // Sending alike.
        await Journal.RenewLeaseAsync("n2/b", 100_000);
        await Journal.RenewLeaseAsync("n3/c", 100_000);
        var adopted = await Task.WhenAll(Journal.AdoptAsync("n2/b", "n2/", 20_000, 100), Journal.AdoptAsync("n3/c", "n3/", 20_000, 100));
        var all = adopted.SelectMany(a => a).Select(r => r.PushId).Order(StringComparer.Ordinal).ToList();
        Assert.Equal(["p1", "p2", "p3"], all);
        Assert.All(adopted[0], r => Assert.Equal("n2/b", r.Owner));
        Assert.Equal(PushState.Sending, adopted.SelectMany(a => a).Single(r => r.PushId == "p1").State);

        // The fence: the old owner's claim fails; the adopter's succeeds once.
        var p2Owner = adopted.SelectMany(a => a).Single(r => r.PushId == "p2").Owner;
        Assert.False(await Journal.ClaimAsync("p2", "n1/a", 1));
        Assert.True(await Journal.ClaimAsync("p2", p2Owner, 1));

        // A restarted node adopts its previous incarnation's rows at once, live lease or not; a released lease frees the rest.
        await Journal.RenewLeaseAsync("n2/b2", 100_000);
        var own = await Journal.AdoptAsync("n2/b2", "n2/", 20_000, 100);
        Assert.Contains(own, r => r.PushId == "q1");
        Assert.DoesNotContain(own, r => r.Owner != "n2/b2");
        await Journal.ReleaseLeaseAsync("n2/b2");
        Assert.Contains(await Journal.AdoptAsync("n4/d", "n4/", 20_000, 100), r => r.PushId == "q1");

        // A replay is conditional and takes the row over.
        await Journal.UpdateStateAsync("p3", PushState.DeadLettered, 1, 0, "unknown_after_crash", null);
        Assert.True(await Journal.ReplayAsync("p3", "n4/d", 30_000));
        Assert.False(await Journal.ReplayAsync("p3", "n4/d", 30_000));
        var replayed = (await Journal.GetAsync("p3"))!;
        Assert.Equal((PushState.Pending, 0, "n4/d", "replay"), (replayed.State, replayed.Attempts, replayed.Owner, replayed.Reason));
    }

    // Issue 17: the dispatch reads, claims and settles a batch at once; each row as the one-row calls would.
    [StoreFact]
    public async Task Journal_Batches_ReadClaimAndSettleEachRowAsTheSingleCallsDo()
    {
        await Journal.AppendAsync([
            Push("b1", "m1", 100) with { Owner = "n1/a" },
            Push("b2", "m1", 101) with { Owner = "n1/a" },
            Push("b3", "m1", 102) with { Owner = "n2/b" },
            Push("b4", "m1", 103, PushState.Accepted) with { Owner = "n1/a" }]);

        var read = await Journal.GetManyAsync(["b2", "missing", "b1", "b3"]);
        Assert.Equal(["b1", "b2", "b3"], read.Select(r => r.PushId).Order(StringComparer.Ordinal));
        Assert.Equal(await Journal.GetAsync("b2"), read.Single(r => r.PushId == "b2"));
        Assert.Empty(await Journal.GetManyAsync([]));

        // Only Pending rows of the owner, each once; in the order asked.
        Assert.Equal(
            [true, false, false, true, false],
            await Journal.ClaimManyAsync([new("b2", 2), new("b3", 1), new("b4", 1), new("b1", 1), new("b1", 1)], "n1/a"));
        Assert.Equal((PushState.Sending, 2), ((await Journal.GetAsync("b2"))!.State, (await Journal.GetAsync("b2"))!.Attempts));
        Assert.Equal(PushState.Pending, (await Journal.GetAsync("b3"))!.State);
        Assert.Empty(await Journal.ClaimManyAsync([], "n1/a"));

        await Journal.UpdateStatesAsync([
            new("b1", PushState.Accepted, 1, 100, null, 700),
            new("b2", PushState.Pending, 2, 5_000, "http_503", null),
            new("b3", PushState.Filtered, 0, 102, "device_gone", null)]);
        await Journal.UpdateStatesAsync([]);
        var b1 = (await Journal.GetAsync("b1"))!;
        var b2 = (await Journal.GetAsync("b2"))!;
        var b3 = (await Journal.GetAsync("b3"))!;
        Assert.Equal((PushState.Accepted, 1, 700L, (string?)null), (b1.State, b1.Attempts, b1.SentAt!.Value, b1.Reason));
        Assert.Equal((PushState.Pending, 2, 5_000L, "http_503", (long?)null), (b2.State, b2.Attempts, b2.NotBefore, b2.Reason, b2.SentAt));
        Assert.Equal((PushState.Filtered, "device_gone"), (b3.State, b3.Reason));
    }

    // Stop 41: the dispatch re-reads a batch against the copies it holds: each row as GetAsync gives it (changed columns,
    // a changed payload, non-ASCII text, a missing row left out); a store may return an unchanged row's copy itself.
    [StoreFact]
    public async Task Journal_ReadCurrent_EachRowAsGetGivesIt_AgainstStaleAndCurrentCopies()
    {
        var copies = new[]
        {
            Push("r1", "m1", 100) with { Owner = "n1/a" },
            Push("r2", "m1", 101) with { Owner = "n1/a", UserId = "usuário-😀", Payload = "{\"t\":\"préview 你好\"}" },
            Push("r3", "m1", 102) with { Owner = "n1/a" },
        };
        await Journal.AppendAsync(copies);
        await Journal.UpdatePendingAsync("r3", "{\"t\":\"digest\"}", 900);
        await Journal.UpdateStatesAsync([new("r1", PushState.Pending, 2, 5_000, "http_503", null)]);

        var missing = Push("gone", "m1", 104) with { Owner = "n1/a" };
        var read = await Journal.ReadCurrentAsync([copies[0], missing, copies[1], copies[2]]);
        Assert.Equal(["r1", "r2", "r3"], read.Select(r => r.PushId).Order(StringComparer.Ordinal));
        foreach (var row in read)
        {
            Assert.Equal(await Journal.GetAsync(row.PushId), row);
        }

        var r1 = read.Single(r => r.PushId == "r1");
        Assert.Equal((PushState.Pending, 2, 5_000L, "http_503"), (r1.State, r1.Attempts, r1.NotBefore, r1.Reason));
        Assert.Equal("{\"t\":\"digest\"}", read.Single(r => r.PushId == "r3").Payload);
        Assert.Equal(copies[1], read.Single(r => r.PushId == "r2")); // unchanged, non-ASCII included
        Assert.Empty(await Journal.ReadCurrentAsync([]));
    }

    // Stop 40: a send loop writes its sent batch's results and its next batch's claims in one call: the changes first (a
    // row they make Pending again is claimable by the same call), then the fenced claims, each row as the single calls do.
    [StoreFact]
    public async Task Journal_UpdateStatesAndClaimMany_ChangesThenFencedClaims()
    {
        await Journal.AppendAsync([
            Push("s1", "m1", 100) with { Owner = "n1/a" },
            Push("s2", "m1", 101) with { Owner = "n1/a" },
            Push("s3", "m1", 102) with { Owner = "n1/a" },
            Push("s4", "m1", 103) with { Owner = "n2/b" }]);
        Assert.Equal([true, true], await Journal.ClaimManyAsync([new("s1", 1), new("s2", 1)], "n1/a"));

        var claimed = await Journal.UpdateStatesAndClaimManyAsync(
            [new("s1", PushState.Accepted, 1, 100, null, 700), new("s2", PushState.Pending, 1, 200, "http_503", null)],
            [new("s3", 1), new("s4", 1), new("s2", 2), new("s1", 2)],
            "n1/a");

        Assert.Equal([true, false, true, false], claimed);
        var s1 = (await Journal.GetAsync("s1"))!;
        Assert.Equal((PushState.Accepted, 1, 700L), (s1.State, s1.Attempts, s1.SentAt!.Value));
        Assert.Equal((PushState.Sending, 2, "http_503"), ((await Journal.GetAsync("s2"))!.State, (await Journal.GetAsync("s2"))!.Attempts, (await Journal.GetAsync("s2"))!.Reason));
        Assert.Equal((PushState.Sending, 1), ((await Journal.GetAsync("s3"))!.State, (await Journal.GetAsync("s3"))!.Attempts));
        Assert.Equal(PushState.Pending, (await Journal.GetAsync("s4"))!.State); // another owner's: fenced

        // Either part may be empty.
        Assert.Empty(await Journal.UpdateStatesAndClaimManyAsync([], [], "n1/a"));
        Assert.Empty(await Journal.UpdateStatesAndClaimManyAsync([new("s3", PushState.Accepted, 1, 102, null, 800)], [], "n1/a"));
        Assert.Equal(PushState.Accepted, (await Journal.GetAsync("s3"))!.State);
        Assert.Equal([false], await Journal.UpdateStatesAndClaimManyAsync([], [new("s3", 2)], "n1/a"));
    }

    // Stop 47: a batch's changes and claims over distinct rows are one statement in both stores; every row ends as the
    // single calls (UpdateStateAsync, then ClaimAsync) leave its twin, and each claim's result is the single call's: claims
    // fenced in any position (another owner's, not Pending, missing), changes with and without a reason and a sent time,
    // non-ASCII ids, and a batch larger than the dispatch's.
    [StoreFact]
    public async Task Journal_UpdateStatesAndClaimMany_DistinctRows_EachRowAndResultAsTheSingleCalls()
    {
        string[] names = ["k00", "k01-é", "k02", "k03", "k04-你好", "k05", "k06", "k07"];
        PushRecord Row(string prefix, int i) => Push(prefix + names[i % names.Length] + "-" + i.ToString(System.Globalization.CultureInfo.InvariantCulture), "m1", 100 + i) with
        {
            Owner = i % 7 == 3 ? "n2/b" : "n1/a",
            State = i % 11 == 5 ? PushState.Accepted : PushState.Pending,
        };

        const int N = 60;
        var batchRows = Enumerable.Range(0, N).Select(i => Row("a-", i)).ToArray();
        var singleRows = Enumerable.Range(0, N).Select(i => Row("s-", i)).ToArray();
        await Journal.AppendAsync(batchRows);
        await Journal.AppendAsync(singleRows);
        await Journal.ClaimManyAsync([.. Enumerable.Range(0, N).Where(i => i % 3 == 0).Select(i => new PushClaim(batchRows[i].PushId, 1))], "n1/a");
        foreach (var i in Enumerable.Range(0, N).Where(i => i % 3 == 0))
        {
            await Journal.ClaimAsync(singleRows[i].PushId, "n1/a", 1);
        }

        // Rows 0, 3, 6, ... (Sending where claimed) get results; the others are claimed, a missing id among them.
        PushStateChange Change(PushRecord[] rows, int i) => (i % 4) switch
        {
            0 => new(rows[i].PushId, PushState.Accepted, 1, 100 + i, null, 700 + i),
            1 => new(rows[i].PushId, PushState.Pending, 2, 5_000 + i, "http_503", null),
            2 => new(rows[i].PushId, PushState.DeadLettered, 1, 100 + i, "invalid_payload", null),
            _ => new(rows[i].PushId, PushState.InvalidToken, 1, 100 + i, "unregistered", 900 + i),
        };
        var settled = Enumerable.Range(0, N).Where(i => i % 3 == 0).ToArray();
        var claimedIdx = Enumerable.Range(0, N).Where(i => i % 3 != 0).Reverse().ToArray();
        var batchResult = await Journal.UpdateStatesAndClaimManyAsync(
            [.. settled.Select(i => Change(batchRows, i))],
            [.. claimedIdx.Select(i => new PushClaim(batchRows[i].PushId, 2 + (i % 3))).Append(new PushClaim("a-missing", 1))],
            "n1/a");

        var singleResult = new List<bool>();
        foreach (var i in settled)
        {
            var c = Change(singleRows, i);
            await Journal.UpdateStateAsync(c.PushId, c.State, c.Attempts, c.NotBefore, c.Reason, c.SentAt);
        }

        foreach (var i in claimedIdx)
        {
            singleResult.Add(await Journal.ClaimAsync(singleRows[i].PushId, "n1/a", 2 + (i % 3)));
        }

        singleResult.Add(await Journal.ClaimAsync("s-missing", "n1/a", 1));
        Assert.Equal(singleResult, batchResult);
        Assert.Contains(true, batchResult);
        Assert.Contains(false, batchResult);
        for (var i = 0; i < N; i++)
        {
            var a = (await Journal.GetAsync(batchRows[i].PushId))!;
            var b = (await Journal.GetAsync(singleRows[i].PushId))!;
            Assert.Equal(b with { PushId = a.PushId, TraceId = a.TraceId, Payload = a.Payload }, a);
        }

        // The claims alone and the changes alone are single statements too.
        Assert.Equal([false, false], await Journal.ClaimManyAsync([new(batchRows[1].PushId, 9), new("a-missing", 9)], "n1/a"));
        await Journal.UpdateStatesAsync([new(batchRows[1].PushId, PushState.Accepted, 4, 1, null, 42)]);
        Assert.Equal((PushState.Accepted, 4, 42L), ((await Journal.GetAsync(batchRows[1].PushId))!.State, (await Journal.GetAsync(batchRows[1].PushId))!.Attempts, (await Journal.GetAsync(batchRows[1].PushId))!.SentAt!.Value));
    }

    // Stop 48: SQLite writes a batch's claims and its changes as one statement each over a list of up to 32 rows, so a
    // list longer than that is several statements, and a list that names a row twice must still end as the single calls in
    // order do (the last change of a row wins; the first claim of a row wins, a later one in the same or another chunk of
    // the list fails). Claims at a chunk's edges, fenced and not, in both stores.
    [StoreFact]
    public async Task Journal_Batches_LongerThanAStatementAndNamingARowTwice_AsTheSingleCallsInOrder()
    {
        var ids = Enumerable.Range(0, 70).Select(i => "w" + i.ToString("D3", System.Globalization.CultureInfo.InvariantCulture)).ToArray();
        await Journal.AppendAsync([.. ids.Select((id, i) => Push(id, "m1", 100 + i) with { Owner = i == 32 || i == 63 ? "n2/b" : "n1/a" })]);

        // 70 distinct claims: rows 32 and 63 (the second chunk's first, the second chunk's last) are another owner's.
        var claimed = await Journal.ClaimManyAsync([.. ids.Select(id => new PushClaim(id, 3))], "n1/a");
        Assert.Equal(Enumerable.Range(0, 70).Select(i => i != 32 && i != 63), claimed);
        Assert.Equal((PushState.Sending, 3), ((await Journal.GetAsync(ids[64]))!.State, (await Journal.GetAsync(ids[64]))!.Attempts));
        Assert.Equal((PushState.Pending, 0), ((await Journal.GetAsync(ids[32]))!.State, (await Journal.GetAsync(ids[32]))!.Attempts));

        // 40 distinct changes (two statements), then a list naming w000 twice: its last change wins (a change without a
        // sent time keeps the row's).
        await Journal.UpdateStatesAsync([.. Enumerable.Range(0, 40).Select(i => new PushStateChange(ids[i], PushState.Pending, 3, 5_000 + i, "http_503", null))]);
        Assert.Equal((PushState.Pending, 5_039L, "http_503"), ((await Journal.GetAsync(ids[39]))!.State, (await Journal.GetAsync(ids[39]))!.NotBefore, (await Journal.GetAsync(ids[39]))!.Reason));
        await Journal.UpdateStatesAsync([
            new(ids[0], PushState.Accepted, 4, 1, null, 700),
            new(ids[1], PushState.Accepted, 4, 1, null, 701),
            new(ids[0], PushState.Pending, 5, 9_000, "http_429", null)]);
        var w0 = (await Journal.GetAsync(ids[0]))!;
        Assert.Equal((PushState.Pending, 5, 9_000L, "http_429", (long?)700), (w0.State, w0.Attempts, w0.NotBefore, w0.Reason, w0.SentAt));
        Assert.Equal((PushState.Accepted, 701L), ((await Journal.GetAsync(ids[1]))!.State, (await Journal.GetAsync(ids[1]))!.SentAt!.Value));

        // Claims naming w000 twice, 32 rows apart (the first and the 33rd of the list) and w002 twice side by side: the
        // first of each is claimed, with its own attempt number.
        List<PushClaim> again = [new(ids[0], 6), new(ids[2], 7), new(ids[2], 8)];
        again.AddRange(Enumerable.Range(3, 29).Select(i => new PushClaim(ids[i], 9)));
        again.Add(new(ids[0], 10));
        var result = await Journal.ClaimManyAsync(again, "n1/a");
        Assert.Equal([true, true, false, .. Enumerable.Repeat(true, 29), false], result);
        Assert.Equal((PushState.Sending, 6), ((await Journal.GetAsync(ids[0]))!.State, (await Journal.GetAsync(ids[0]))!.Attempts));
        Assert.Equal((PushState.Sending, 7), ((await Journal.GetAsync(ids[2]))!.State, (await Journal.GetAsync(ids[2]))!.Attempts));
    }

    // Stop 33: batch claims from several loops at once over the same rows (in different orders): each row is claimed by
    // exactly one of them, and none fails (PostgreSQL locks a batch's rows in push id order, so they cannot deadlock).
    [StoreFact]
    public async Task Journal_ClaimMany_ConcurrentBatches_EachRowClaimedOnce()
    {
        var ids = Enumerable.Range(0, 120).Select(i => "c" + i.ToString("D3", System.Globalization.CultureInfo.InvariantCulture)).ToArray();
        await Journal.AppendAsync([.. ids.Select((id, i) => Push(id, "m1", 100 + i) with { Owner = "n1/a" })]);
        var orders = new[] { ids, ids.Reverse().ToArray(), ids.Where((_, i) => i % 2 == 0).Concat(ids.Where((_, i) => i % 2 == 1)).ToArray(), ids.OrderBy(id => id.GetHashCode(StringComparison.Ordinal)).ToArray() };

        var results = await Task.WhenAll(orders.Select((order, k) => Task.Run(() => Journal.ClaimManyAsync([.. order.Select(id => new PushClaim(id, k + 1))], "n1/a"))));

        foreach (var id in ids)
        {
            var winners = orders.Select((order, k) => results[k][Array.IndexOf(order, id)] ? k + 1 : 0).Where(k => k > 0).ToList();
            var row = (await Journal.GetAsync(id))!;
            Assert.True(winners.Count == 1, $"{id} claimed by {winners.Count} batches");
            Assert.Equal((PushState.Sending, winners[0]), (row.State, row.Attempts));
        }
    }

    // Stop 33: a batch claim racing an adopter (the claimer's lease lapsed): every row ends with the adopter, and the
    // claimer won exactly the rows that were still its own and Pending when it claimed them (those are Sending, adopted as
    // such; the rest are Pending); afterwards the old owner's batch claims nothing and the adopter's claims the rest.
    [StoreFact]
    public async Task Journal_ClaimMany_RacingAnAdopter_TheFenceHolds()
    {
        var ids = Enumerable.Range(0, 200).Select(i => "f" + i.ToString("D3", System.Globalization.CultureInfo.InvariantCulture)).ToArray();
        await Journal.AppendAsync([.. ids.Select((id, i) => Push(id, "m1", 100 + i) with { Owner = "n1/a" })]);
        await Journal.RenewLeaseAsync("n2/b", 100_000);

        var claim = Task.Run(() => Journal.ClaimManyAsync([.. ids.Select(id => new PushClaim(id, 1))], "n1/a"));
        var adopt = Task.Run(async () =>
        {
            var n = 0;
            for (var page = await Journal.AdoptAsync("n2/b", "n2/", 20_000, 50); page.Count > 0; page = await Journal.AdoptAsync("n2/b", "n2/", 20_000, 50))
            {
                n += page.Count;
            }

            return n;
        });
        var claimed = await claim;
        await adopt;
        while ((await Journal.AdoptAsync("n2/b", "n2/", 20_000, 50)).Count > 0)
        {
        }

        for (var i = 0; i < ids.Length; i++)
        {
            var row = (await Journal.GetAsync(ids[i]))!;
            Assert.Equal("n2/b", row.Owner);
            Assert.Equal(claimed[i] ? PushState.Sending : PushState.Pending, row.State);
        }

        Assert.All(await Journal.ClaimManyAsync([.. ids.Select(id => new PushClaim(id, 2))], "n1/a"), c => Assert.False(c));
        var second = await Journal.ClaimManyAsync([.. ids.Select(id => new PushClaim(id, 2))], "n2/b");
        Assert.Equal(claimed.Select(c => !c), second);
    }

    [StoreFact]
    public async Task Journal_AppendSkipsKnownIds_StatesAndReportsRoundTrip()
    {
        var a = Push("a", "m1", 100);
        var b = Push("b", "m1", 101);
        Assert.Equal([a, b], await Journal.AppendAsync([a, b]));
        var c = Push("c", "m2", 102, digest: "d");
        var digest = Push("d", "digest", 103);
        Assert.Equal([c, digest], await Journal.AppendAsync([a with { Payload = "other" }, c, digest, c with { Payload = "twice" }]));
        Assert.Equal(a, await Journal.GetAsync("a"));
        Assert.Null(await Journal.GetAsync("zzz"));
        Assert.Empty(await Journal.AppendAsync([]));

        Assert.True(await Journal.UpdatePendingAsync("a", "{\"t\":\"merged\"}", 500));
        await Journal.UpdateStateAsync("a", PushState.Accepted, 1, 500, null, 600);
        Assert.False(await Journal.UpdatePendingAsync("a", "late", 700)); // no longer pending
        var sent = (await Journal.GetAsync("a"))!;
        Assert.Equal((PushState.Accepted, 1, 600L, "{\"t\":\"merged\"}"), (sent.State, sent.Attempts, sent.SentAt!.Value, sent.Payload));
        await Journal.UpdateStateAsync("b", PushState.DeadLettered, 5, 900, "vendor 500", null);
        Assert.Equal("vendor 500", (await Journal.GetAsync("b"))!.Reason);

        Assert.Equal(["c", "d"], (await Journal.ListByStateAsync(PushState.Pending, 10)).Select(p => p.PushId));
        Assert.Equal(["c"], (await Journal.ListByStateAsync(PushState.Pending, 1)).Select(p => p.PushId));
        Assert.Equal(["a", "b"], (await Journal.ListByMessageAsync("m1")).Select(p => p.PushId));
        Assert.Equal(["c", "d"], (await Journal.ListByMessageAsync("m2")).Select(p => p.PushId)); // with its digest

        Assert.Equal(700, (await Journal.MarkArrivedAsync("a", 700))!.ArrivedAt);
        Assert.Equal(700, (await Journal.MarkArrivedAsync("a", 800))!.ArrivedAt); // the first report counts
        Assert.Equal(900, (await Journal.MarkClickedAsync("a", 900))!.ClickedAt);
        Assert.Null(await Journal.MarkArrivedAsync("zzz", 1));

        // Finished pushes older than the horizon go; pending, sending and dead-lettered ones stay.
        Assert.Equal(1, await Journal.PurgeFinishedAsync(1000));
        Assert.Null(await Journal.GetAsync("a"));
        Assert.NotNull(await Journal.GetAsync("b"));
        Assert.NotNull(await Journal.GetAsync("c"));
    }

    [StoreFact]
    public async Task Settings_DefaultThenPartialUpdates()
    {
        Assert.Equal(PushSettings.Default, await Settings.GetAsync("bob"));
        await Settings.SetAsync("bob", true, null, 1);
        Assert.Equal(new PushSettings(true, PushPrivacySetting.Full), await Settings.GetAsync("bob"));
        await Settings.SetAsync("bob", null, PushPrivacySetting.Generic, 2);
        Assert.Equal(new PushSettings(true, PushPrivacySetting.Generic), await Settings.GetAsync("bob"));
        await Settings.SetAsync("bob", false, PushPrivacySetting.SenderOnly, 3);
        Assert.Equal(new PushSettings(false, PushPrivacySetting.SenderOnly), await Settings.GetAsync("bob"));
        Assert.Equal(PushSettings.Default, await Settings.GetAsync("carol"));
    }
}
