using System.Collections.Concurrent;
using System.Text;
using Parley.Abstractions.Messaging;
using Parley.Abstractions.Webhooks;

namespace Parley.Storage.Compliance;

/// <summary>
/// The behaviour every <see cref="IWebhookOutbox"/> provider must show (SQLite and PostgreSQL run it unchanged): events
/// written in a message commit live and die with it, leases are exclusive and fence late outcomes, dead letters can be
/// listed and replayed with their event id, and concurrent claimers (the nodes of a cluster) never share an event.
/// </summary>
public abstract class WebhookOutboxComplianceTests : IAsyncLifetime
{
    protected IMessageStore Messages { get; private set; } = null!;

    protected IWebhookOutbox Outbox { get; private set; } = null!;

    /// <summary>The message store and outbox over this test's (one, initially empty) storage.</summary>
    protected abstract (IMessageStore Messages, IWebhookOutbox Outbox) OpenStores();

    /// <summary>A second outbox over the same storage as another node would open it (its own owner), or the same one where a file has one owner.</summary>
    protected abstract IWebhookOutbox OpenSecondNode();

    public virtual async Task InitializeAsync()
    {
        (Messages, Outbox) = OpenStores();
        await Messages.InitializeAsync();
    }

    public virtual Task DisposeAsync() => Task.CompletedTask;

    private static WebhookEvent Event(string id, long at, string hook = "afterSendSingleMsg") =>
        WebhookEvent.New(id, hook, "{\"eventId\":\"" + id + "\"}", at);

    private static StoredMessage Message(string conversation, long seq, long version) =>
        new(conversation, seq, $"s-{conversation}-{seq}", "alice", $"c-{conversation}-{seq}", 2000 + seq, 1, Encoding.UTF8.GetBytes("hi"), false, version);

    [StoreFact]
    public async Task Commit_EventsAreWrittenWithTheMessage_AndRolledBackWithIt()
    {
        var create = new CommitBatch();
        create.Conversations.Add(new NewConversation("c1", ConversationKind.Direct, null, "", "alice", 1000, ["alice", "bob"], 1));
        create.Messages.Add(Message("c1", 1, 2));
        create.WebhookEvents.Add(Event("e-1", 1000));
        await Messages.CommitAsync(create);
        var stored = await Outbox.GetAsync("e-1");
        Assert.NotNull(stored);
        Assert.Equal(WebhookEventState.Pending, stored.State);
        Assert.Equal("{\"eventId\":\"e-1\"}", stored.Payload);

        // A batch that violates a uniqueness rule (seq 1 again) applies nothing: its event does not exist either.
        var conflicting = new CommitBatch();
        conflicting.Messages.Add(Message("c1", 1, 3));
        conflicting.WebhookEvents.Add(Event("e-2", 1000));
        await Assert.ThrowsAsync<StoreConflictException>(() => Messages.CommitAsync(conflicting));
        Assert.Null(await Outbox.GetAsync("e-2"));
        Assert.Equal(new WebhookOutboxCounts(1, 0), await Outbox.CountAsync());

        // The same event id again is ignored (idempotent), in a commit or enqueued.
        await Outbox.EnqueueAsync([Event("e-1", 5000)]);
        Assert.Equal(1000, (await Outbox.GetAsync("e-1"))!.CreatedAt);
    }

    [StoreFact]
    public async Task Claim_IsExclusiveWhileLeased_AndALateOwnerIsFenced()
    {
        await Outbox.EnqueueAsync([Event("e-1", 1000), Event("e-2", 1000), Event("later", 9000)]);

        var first = await Outbox.ClaimAsync("node-a", now: 2000, leaseUntil: 12_000, limit: 10);
        Assert.Equal(["e-1", "e-2"], first.Select(e => e.EventId).Order(StringComparer.Ordinal));
        var other = await Outbox.ClaimAsync("node-b", now: 11_000, leaseUntil: 21_000, limit: 10);
        Assert.Equal(["later"], other.Select(e => e.EventId)); // e-1 and e-2 are node-a's until 12 000

        // node-a's lease ran out (paused): node-b takes e-1 over; node-a's late outcome changes nothing.
        var taken = await Outbox.ClaimAsync("node-b", now: 12_000, leaseUntil: 22_000, limit: 10);
        Assert.Contains(taken, e => e.EventId == "e-1");
        Assert.False(await Outbox.MarkDeliveredAsync("e-1", "node-a", 1, 12_500));
        Assert.False(await Outbox.RescheduleAsync("e-1", "node-a", 1, 20_000, "timeout"));
        Assert.True(await Outbox.MarkDeliveredAsync("e-1", "node-b", 1, 12_600));
        var delivered = await Outbox.GetAsync("e-1");
        Assert.Equal(WebhookEventState.Delivered, delivered!.State);
        Assert.Equal(12_600, delivered.FinishedAt);

        // Rescheduled: not due before its time, then due again for anyone.
        Assert.True(await Outbox.RescheduleAsync("e-2", "node-b", 1, 30_000, "status_503"));
        Assert.DoesNotContain(await Outbox.ClaimAsync("node-a", now: 29_999, leaseUntil: 40_000, limit: 10), e => e.EventId == "e-2");
        var again = Assert.Single(await Outbox.ClaimAsync("node-a", now: 30_000, leaseUntil: 40_000, limit: 10), e => e.EventId == "e-2");
        Assert.Equal(1, again.Attempts);
        Assert.Equal("status_503", again.LastError);

        // A restart of a single node releases its leases at once.
        Assert.True(await Outbox.ReleaseAllLeasesAsync() >= 1);
        Assert.Contains(await Outbox.ClaimAsync("node-c", now: 30_001, leaseUntil: 40_000, limit: 10), e => e.EventId == "e-2");
    }

    [StoreFact]
    public async Task DeadLetters_AreListedReplayedWithTheSameEventId_AndPurgeKeepsThem()
    {
        await Outbox.EnqueueAsync([Event("d-1", 1000), Event("d-2", 1000, "afterUserOnline"), Event("ok", 1000)]);
        var claimed = await Outbox.ClaimAsync("n", 1000, 5000, 10);
        Assert.Equal(3, claimed.Count);
        Assert.True(await Outbox.DeadLetterAsync("d-1", "n", 8, 2000, "status_500"));
        Assert.True(await Outbox.DeadLetterAsync("d-2", "n", 8, 2100, "timeout"));
        Assert.True(await Outbox.MarkDeliveredAsync("ok", "n", 1, 1500));
        Assert.False(await Outbox.DeadLetterAsync("ok", "n", 2, 2200, "late")); // finished events stay finished
        Assert.Equal(new WebhookOutboxCounts(0, 2), await Outbox.CountAsync());

        var dead = await Outbox.ListDeadLettersAsync(null, 10);
        Assert.Equal(["d-2", "d-1"], dead.Select(e => e.EventId));
        Assert.Equal("timeout", dead[0].LastError);
        Assert.Equal(8, dead[0].Attempts);
        Assert.Equal(["d-1"], (await Outbox.ListDeadLettersAsync("afterSendSingleMsg", 10)).Select(e => e.EventId));

        Assert.Equal(0, await Outbox.ReplayAsync(["ok", "missing"], null, 3000)); // only dead letters replay
        Assert.Equal(1, await Outbox.ReplayAsync(["d-1", "d-1"], null, 3000));
        var replayed = await Outbox.GetAsync("d-1");
        Assert.Equal((WebhookEventState.Pending, 0, 3000L, "{\"eventId\":\"d-1\"}"), (replayed!.State, replayed.Attempts, replayed.NextAttemptAt, replayed.Payload));
        Assert.Equal(1, await Outbox.ReplayAsync(null, "afterUserOnline", 3000));
        Assert.Equal(new WebhookOutboxCounts(2, 0), await Outbox.CountAsync());

        Assert.Equal(1, await Outbox.PurgeDeliveredAsync(before: 1501));
        Assert.Null(await Outbox.GetAsync("ok"));
        Assert.NotNull(await Outbox.GetAsync("d-1"));
    }

    [StoreFact]
    public async Task PurgeUser_DeletesEveryEventNamingTheUserInAUserField_InAnyState_AndNothingElse()
    {
        // "al_ice" names the user; "al_ice" in message text, a group id or a longer user id does not.
        await Outbox.EnqueueAsync(
        [
            WebhookEvent.New("sent", "afterSendSingleMsg", "{\"sendID\":\"al_ice\",\"recvID\":\"bob\"}", 1000),
            WebhookEvent.New("got", "afterSendSingleMsg", "{\"sendID\":\"bob\",\"recvID\":\"al_ice\"}", 1000),
            WebhookEvent.New("listed", "afterCreateGroup", "{\"creatorUserID\":\"bob\",\"memberUserIDs\":[\"bob\",\"al_ice\"]}", 1000),
            WebhookEvent.New("dead", "afterUserOnline", "{\"userID\":\"al_ice\"}", 1000),
            WebhookEvent.New("text", "afterSendSingleMsg", "{\"sendID\":\"bob\",\"recvID\":\"carol\",\"content\":{\"text\":{\"text\":\"\\\"al_ice\\\"\"}}}", 1000),
            WebhookEvent.New("group", "afterJoinGroup", "{\"groupID\":\"al_ice\",\"userIDs\":[\"carol\"]}", 1000),
            WebhookEvent.New("longer", "afterUserOnline", "{\"userID\":\"al_ice2\"}", 1000),
        ]);
        var claimed = await Outbox.ClaimAsync("node-a", now: 2000, leaseUntil: 60_000, limit: 10);
        Assert.True(await Outbox.MarkDeliveredAsync("got", "node-a", 1, 2100));
        Assert.True(await Outbox.DeadLetterAsync("dead", "node-a", 1, 2100, "status_500"));

        Assert.Equal(4, await Outbox.PurgeUserAsync("al_ice"));

        foreach (var gone in new[] { "sent", "got", "listed", "dead" })
        {
            Assert.Null(await Outbox.GetAsync(gone));
        }

        foreach (var kept in new[] { "text", "group", "longer" })
        {
            Assert.NotNull(await Outbox.GetAsync(kept));
        }

        Assert.Equal(7, claimed.Count);
        Assert.Equal(0, await Outbox.PurgeUserAsync("al_ice"));
    }

    [StoreFact]
    public async Task ConcurrentClaimers_NeverGetTheSameEvent()
    {
        const int Count = 300;
        await Outbox.EnqueueAsync([.. Enumerable.Range(0, Count).Select(i => Event($"ev-{i:D4}", 1000))]);
        var nodes = new[] { Outbox, OpenSecondNode(), Outbox, OpenSecondNode() };
        var seen = new ConcurrentDictionary<string, int>(StringComparer.Ordinal);
        await Task.WhenAll(nodes.Select((outbox, n) => Task.Run(async () =>
        {
            while (true)
            {
                var claimed = await outbox.ClaimAsync("node-" + n, 2000, 60_000, 7);
                if (claimed.Count == 0)
                {
                    return;
                }

                foreach (var e in claimed)
                {
                    seen.AddOrUpdate(e.EventId, 1, (_, c) => c + 1);
                    Assert.True(await outbox.MarkDeliveredAsync(e.EventId, "node-" + n, 1, 2000));
                }
            }
        })));

        Assert.Equal(Count, seen.Count);
        Assert.All(seen, kv => Assert.Equal(1, kv.Value));
        Assert.Equal(new WebhookOutboxCounts(0, 0), await Outbox.CountAsync());
    }
}
