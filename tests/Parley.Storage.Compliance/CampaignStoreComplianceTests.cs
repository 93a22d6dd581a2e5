using Parley.Abstractions.Accounts;
using Parley.Abstractions.Business;
using Parley.Abstractions.Push;

namespace Parley.Storage.Compliance;

/// <summary>
/// The behaviour every provider of <see cref="ICampaignStore"/> (and the marketing opt-out of <see cref="IPushSettingsStore"/>)
/// must show; SQLite and PostgreSQL run it unchanged. The lease tests are what keeps two nodes from running one campaign.
/// </summary>
public abstract class CampaignStoreComplianceTests : IAsyncLifetime
{
    protected ICampaignStore Store { get; private set; } = null!;

    protected IPushSettingsStore Settings { get; private set; } = null!;

    private IAccountStore Accounts { get; set; } = null!;

    /// <summary>The stores over this test's (one, initially empty) storage; the account store initialises it.</summary>
    protected abstract (IAccountStore Accounts, ICampaignStore Campaigns, IPushSettingsStore Settings) OpenStores();

    public virtual async Task InitializeAsync()
    {
        (Accounts, Store, Settings) = OpenStores();
        await Accounts.InitializeAsync();
    }

    public virtual Task DisposeAsync() => Task.CompletedTask;

    private static CampaignRecord Campaign(string id, long startAt = 1_000, long expiresAt = 1_000_000) =>
        new(id, "Spring sale", "{\"templates\":[]}", CampaignState.Scheduled, null, startAt, expiresAt, 500, 500, null, null, 0);

    private static CampaignTarget Sent(string user, long at = 2_000, string template = "a") => new(user, CampaignTargetState.Sent, null, template, 1, at);

    private static CampaignTarget Skipped(string user, string reason) => new(user, CampaignTargetState.Skipped, reason, null, 0, 2_000);

    [StoreFact]
    public async Task Create_StoresTheCampaignAndItsAudienceOnce_ReadInUserIdOrder()
    {
        Assert.True(await Store.CreateAsync(Campaign("c1"), ["u3", "u1", "u2", "u1", "u10"]));
        Assert.False(await Store.CreateAsync(Campaign("c1") with { Name = "Other" }, ["x"]));
        var stored = await Store.GetAsync("c1");
        Assert.Equal(Campaign("c1"), stored);
        Assert.Null(await Store.GetAsync("nope"));

        Assert.Equal(["u1", "u10", "u2", "u3"], await Store.ReadAudienceAsync("c1", null, 10));
        Assert.Equal(["u1", "u10"], await Store.ReadAudienceAsync("c1", null, 2));
        Assert.Equal(["u2", "u3"], await Store.ReadAudienceAsync("c1", "u10", 10));
        Assert.Empty(await Store.ReadAudienceAsync("c1", "u3", 10));

        Assert.True(await Store.CreateAsync(Campaign("c0"), []));
        Assert.Equal(["c0", "c1"], (await Store.ListAsync(null, null, 10)).Select(c => c.CampaignId));
        Assert.Equal(["c1"], (await Store.ListAsync(CampaignState.Scheduled, "c0", 10)).Select(c => c.CampaignId));
        Assert.Empty(await Store.ListAsync(CampaignState.Running, null, 10));
    }

    [StoreFact]
    public async Task Lease_OneHolderAtATime_TakenOverOnlyAfterExpiry_AndNotBeforeTheStart()
    {
        Assert.True(await Store.CreateAsync(Campaign("c1", startAt: 5_000), ["u1"]));
        Assert.Empty(await Store.ListRunnableAsync(4_999, 10));
        Assert.Null(await Store.TryAcquireAsync("c1", "node-a", 4_999, 9_999));

        Assert.Equal(["c1"], await Store.ListRunnableAsync(5_000, 10));
        var held = await Store.TryAcquireAsync("c1", "node-a", 5_000, 10_000);
        Assert.Equal(CampaignState.Running, held!.State);
        Assert.Equal("node-a", held.LeaseOwner);
        Assert.Empty(await Store.ListRunnableAsync(6_000, 10));
        Assert.Null(await Store.TryAcquireAsync("c1", "node-b", 10_000, 20_000)); // not expired yet (until is inclusive)
        Assert.NotNull(await Store.TryAcquireAsync("c1", "node-a", 9_000, 15_000)); // the holder renews

        // After the expiry another node takes it over and the old holder's writes are fenced off.
        Assert.Equal(["c1"], await Store.ListRunnableAsync(15_001, 10));
        Assert.Equal("node-b", (await Store.TryAcquireAsync("c1", "node-b", 15_001, 30_000))!.LeaseOwner);
        Assert.False(await Store.CommitChunkAsync("c1", "node-a", 15_002, 40_000, [Sent("u1")], "u1", null));
        Assert.Empty(await Store.ListTargetsAsync("c1", null, 10));
        Assert.Null((await Store.GetAsync("c1"))!.Cursor);

        // A released lease is free at once.
        await Store.ReleaseAsync("c1", "node-a"); // not the holder: no effect
        Assert.Null(await Store.TryAcquireAsync("c1", "node-a", 16_000, 40_000));
        await Store.ReleaseAsync("c1", "node-b");
        Assert.Equal("node-a", (await Store.TryAcquireAsync("c1", "node-a", 16_000, 40_000))!.LeaseOwner);
    }

    [StoreFact]
    public async Task Lease_ConcurrentRunners_ExactlyOneWins()
    {
        Assert.True(await Store.CreateAsync(Campaign("race"), ["u1"]));
        var attempts = await Task.WhenAll(Enumerable.Range(0, 16).Select(i => Task.Run(() => Store.TryAcquireAsync("race", "node-" + i, 2_000, 60_000))));
        var winner = Assert.Single(attempts, a => a is not null);
        Assert.Equal(winner!.LeaseOwner, (await Store.GetAsync("race"))!.LeaseOwner);
    }

    [StoreFact]
    public async Task CommitChunk_WritesTargetsCursorAndFinish_FirstOutcomeWins_Counted()
    {
        Assert.True(await Store.CreateAsync(Campaign("c1"), ["u1", "u2", "u3", "u4", "u5"]));
        Assert.NotNull(await Store.TryAcquireAsync("c1", "n", 1_000, 10_000));
        Assert.True(await Store.CommitChunkAsync("c1", "n", 2_000, 12_000, [Sent("u1"), Sent("u2", template: "b"), Skipped("u3", "opted_out")], "u3", null));
        var after = (await Store.GetAsync("c1"))!;
        Assert.Equal(("u3", 12_000L, CampaignState.Running), (after.Cursor, after.LeaseUntil, after.State));

        // A re-run of the chunk (after a crash) keeps the first outcomes; the last chunk finishes the campaign.
        Assert.True(await Store.CommitChunkAsync("c1", "n", 3_000, 13_000, [Skipped("u1", "no_device"), Sent("u4"), Skipped("u5", "no_device")], "u5", CampaignState.Done));
        var done = (await Store.GetAsync("c1"))!;
        Assert.Equal((CampaignState.Done, "u5", 3_000L, (string?)null), (done.State, done.Cursor, done.FinishedAt, done.LeaseOwner));
        Assert.False(await Store.CommitChunkAsync("c1", "n", 3_500, 13_000, [Sent("u9")], "u9", null));
        Assert.Empty(await Store.ListRunnableAsync(4_000, 10));
        Assert.Null(await Store.TryAcquireAsync("c1", "n", 4_000, 14_000));

        var targets = await Store.ListTargetsAsync("c1", null, 10);
        Assert.Equal(["u1", "u2", "u3", "u4", "u5"], targets.Select(t => t.UserId));
        Assert.Equal(Sent("u1"), targets[0]);
        Assert.Equal(Skipped("u3", "opted_out"), targets[2]);
        Assert.Equal(["u4", "u5"], (await Store.ListTargetsAsync("c1", "u3", 10)).Select(t => t.UserId));

        var counts = await Store.CountTargetsAsync("c1");
        Assert.Equal((5L, 3L, 3L), (counts.Targeted, counts.Sent, counts.Pushes));
        Assert.Equal(new Dictionary<string, long> { ["no_device"] = 1, ["opted_out"] = 1 }, counts.Skipped);
        Assert.Equal(new Dictionary<string, long> { ["a"] = 2, ["b"] = 1 }, counts.SentByTemplate);
        Assert.Equal(0, (await Store.CountTargetsAsync("none")).Targeted);
    }

    [StoreFact]
    public async Task DelayedTargets_AreStoredAsDelayed_CountedAsSentAndByTheirReason()
    {
        Assert.True(await Store.CreateAsync(Campaign("c1"), ["u1", "u2", "u3", "u4"]));
        Assert.NotNull(await Store.TryAcquireAsync("c1", "n", 1_000, 10_000));
        CampaignTarget Delayed(string user, string reason, int pushes = 1) => new(user, CampaignTargetState.Delayed, reason, "a", pushes, 2_000);
        Assert.True(await Store.CommitChunkAsync("c1", "n", 2_000, 12_000, [Delayed("u1", "quiet_hours"), Delayed("u2", "quiet_hours", 2), Delayed("u3", "send_time"), Skipped("u4", "quiet_hours")], "u4", CampaignState.Done));

        Assert.Equal(Delayed("u2", "quiet_hours", 2), (await Store.ListTargetsAsync("c1", "u1", 1))[0]);
        var counts = await Store.CountTargetsAsync("c1");
        Assert.Equal((4L, 3L, 4L), (counts.Targeted, counts.Sent, counts.Pushes));
        Assert.Equal(new Dictionary<string, long> { ["quiet_hours"] = 2, ["send_time"] = 1 }, counts.Delayed);
        Assert.Equal(new Dictionary<string, long> { ["quiet_hours"] = 1 }, counts.Skipped);
        Assert.Equal(new Dictionary<string, long> { ["a"] = 3 }, counts.SentByTemplate);
    }

    [StoreFact]
    public async Task Cancel_StopsScheduledOrRunning_FencesTheRunner_NotAFinishedOne()
    {
        Assert.True(await Store.CreateAsync(Campaign("c1"), ["u1", "u2"]));
        Assert.NotNull(await Store.TryAcquireAsync("c1", "n", 1_000, 10_000));
        Assert.True(await Store.CancelAsync("c1", 1_500));
        Assert.False(await Store.CancelAsync("c1", 1_600));
        Assert.False(await Store.CommitChunkAsync("c1", "n", 2_000, 12_000, [Sent("u1")], "u1", null));
        var cancelled = (await Store.GetAsync("c1"))!;
        Assert.Equal((CampaignState.Cancelled, 1_500L, (string?)null), (cancelled.State, cancelled.FinishedAt, cancelled.Cursor));
        Assert.Null(await Store.TryAcquireAsync("c1", "n", 3_000, 13_000));
        Assert.Empty(await Store.ListTargetsAsync("c1", null, 10));

        Assert.True(await Store.CreateAsync(Campaign("c2"), []));
        Assert.True(await Store.CancelAsync("c2", 1_000)); // still scheduled
        Assert.False(await Store.CancelAsync("unknown", 1_000));
    }

    [StoreFact]
    public async Task MarketingOptOut_SetAndReadInBatches_KeepsTheOtherSettings()
    {
        await Settings.SetAsync("bob", true, PushPrivacySetting.Generic, 1_000);
        await Settings.SetMarketingOptOutAsync("bob", true, 2_000);
        await Settings.SetMarketingOptOutAsync("carol", true, 2_000);
        Assert.Equal(new PushSettings(true, PushPrivacySetting.Generic) { MarketingOptOut = true }, await Settings.GetAsync("bob"));
        await Settings.SetAsync("bob", false, null, 3_000);
        Assert.True((await Settings.GetAsync("bob")).MarketingOptOut);
        await Settings.SetMarketingOptOutAsync("carol", false, 4_000);

        var many = await Settings.GetManyAsync(["bob", "carol", "dave"]);
        Assert.Equal(["bob", "carol"], many.Keys.Order(StringComparer.Ordinal));
        Assert.True(many["bob"].MarketingOptOut);
        Assert.Equal(PushPrivacySetting.Generic, many["bob"].Privacy);
        Assert.False(many["carol"].MarketingOptOut);
        Assert.Empty(await Settings.GetManyAsync([]));
    }
}
