using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Parley.Core.Delivery;

namespace Parley.Compat.OpenIM.Tests;

/// <summary>
/// The server in front of the fan-out holds a conversation's live deliveries until the test releases them (fault injection
/// between commit and push; everything else is the real server).
/// </summary>
public sealed class HeldDeliveryFixture : IAsyncLifetime
{
    public OpenImTestServer Server { get; private set; } = null!;

    internal HoldingDeliveryHub Hub { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Server = await OpenImTestServer.StartAsync(services: services =>
        {
            var real = services.Last(d => d.ServiceType == typeof(IDeliveryHub));
            services.Remove(real);
            services.AddSingleton(sp => new HoldingDeliveryHub(real.ImplementationFactory is { } factory
                ? (IDeliveryHub)factory(sp)
                : (IDeliveryHub)sp.GetRequiredService(real.ImplementationType!)));
            services.AddSingleton<IDeliveryHub>(sp => sp.GetRequiredService<HoldingDeliveryHub>());
        });
        Hub = Server.Services.GetRequiredService<HoldingDeliveryHub>();
    }

    public async Task DisposeAsync() => await Server.DisposeAsync();
}

/// <summary>
/// SDK 0.0.14 learns of a new conversation from its first push, fetches it (<c>/jssdk/get_conversations</c>: unread =
/// maxSeq − readSeq) and adds one for every push it handles after that. A message committed before the fetch is answered but
/// pushed after it was counted twice (unread 3 for 2 messages; CI saw it under load). These tests hold the second message's
/// push until the SDK has applied its fetch, so the interleaving happens every run, for a notification account's sn_, a
/// 1:1 si_ and a group sg_ conversation.
/// </summary>
public sealed class OpenImUnreadRaceTests(HeldDeliveryFixture fixture) : IClassFixture<HeldDeliveryFixture>
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);

    private OpenImTestServer Server => fixture.Server;

    [Fact]
    public async Task A_message_committed_while_the_sdk_fetches_a_new_sn_conversation_is_counted_once()
    {
        var bob = OpenImUsers.NewId("rb");
        await OpenImUsers.RegisterAsync(Server, bob);
        var admin = await Server.AdminTokenAsync();
        var account = OpenImUsers.NewId("ra");
        AssertOk(await Server.PostAsync("/user/add_notification_account", new { userID = account, nickName = "Parcel news", faceURL = "", appMangerLevel = 3 }, admin));
        var pair = string.CompareOrdinal(account, bob) <= 0 ? $"{account}_{bob}" : $"{bob}_{account}";

        await using var sdk = await NodeSdkClient.LoggedInAsync(Server, bob);
        await AssertCountedOnceAsync(
            sdk,
            Parley.Protocol.Ids.DirectConversationId(account, bob),
            "sn_" + pair,
            () => SendAsync(new { sendID = account, recvID = bob, clientMsgID = "rn-1", contentType = 101, sessionType = 4, content = new { content = "Your parcel left" } }),
            () => SendAsync(new { sendID = account, recvID = bob, clientMsgID = "rn-2", contentType = 101, sessionType = 4, content = new { content = "Your parcel arrived" } }),
            "rn-2",
            expectedUnread: 2);
    }

    [Fact]
    public async Task A_message_committed_while_the_sdk_fetches_a_new_si_conversation_is_counted_once()
    {
        var bob = OpenImUsers.NewId("rb");
        var friend = OpenImUsers.NewId("rf");
        await OpenImUsers.RegisterAsync(Server, bob, friend);
        var pair = string.CompareOrdinal(friend, bob) <= 0 ? $"{friend}_{bob}" : $"{bob}_{friend}";

        await using var sdk = await NodeSdkClient.LoggedInAsync(Server, bob);
        await AssertCountedOnceAsync(
            sdk,
            Parley.Protocol.Ids.DirectConversationId(friend, bob),
            "si_" + pair,
            () => SendAsync(new { sendID = friend, recvID = bob, clientMsgID = "ri-1", contentType = 101, sessionType = 1, content = new { content = "hi bob" } }),
            () => SendAsync(new { sendID = friend, recvID = bob, clientMsgID = "ri-2", contentType = 101, sessionType = 1, content = new { content = "are you there?" } }),
            "ri-2",
            expectedUnread: 2);
    }

    [Fact]
    public async Task A_message_committed_while_the_sdk_fetches_a_new_sg_conversation_is_counted_once()
    {
        var (alice, aliceToken) = await Server.RegisterAsync("rga");
        var bob = OpenImUsers.NewId("rgb");
        await OpenImUsers.RegisterAsync(Server, bob);
        var groupId = OpenImUsers.NewId("rgg");

        await using var sdk = await NodeSdkClient.LoggedInAsync(Server, bob);

        // Seq 1 is the group-created tip (it counts as unread for bob, as in OpenIM); seq 2 alice's first message.
        await AssertCountedOnceAsync(
            sdk,
            Parley.Protocol.Ids.GroupConversationId(groupId),
            "sg_" + groupId,
            async () => AssertOk(await Server.PostAsync("/group/create_group", new { ownerUserID = alice, memberUserIDs = new[] { bob }, groupInfo = new { groupID = groupId, groupName = "Race", groupType = 2 } }, aliceToken)),
            async () => AssertOk(await Server.PostAsync("/msg/send_msg", new { sendID = alice, groupID = groupId, clientMsgID = "rg-1", contentType = 101, sessionType = 3, content = new { content = "welcome" } }, await Server.AdminTokenAsync())),
            "rg-1",
            expectedUnread: 2);
    }

    /// <summary>
    /// Commits seq 1 (<paramref name="first"/>) and seq 2 (<paramref name="second"/>) of a conversation new to the SDK with
    /// both pushes held; lets only seq 1 through, waits until the SDK has fetched the conversation (OnNewConversation), then
    /// lets seq 2 through and checks that the SDK's unread count is the number of messages, not one more.
    /// </summary>
    private async Task AssertCountedOnceAsync(NodeSdkClient sdk, string parleyConversationId, string openImConversationId, Func<Task> first, Func<Task> second, string secondClientMsgId, int expectedUnread)
    {
        var hub = fixture.Hub;
        int fetchedUnread;
        hub.Hold(parleyConversationId);
        try
        {
            await first();
            await second();
            await UntilAsync(() => hub.HeldSeqs(parleyConversationId).Count >= 2, "both commits reached the fan-out and were held");

            hub.Release(parleyConversationId, throughSeq: 1);
            var fetched = await sdk.WaitAsync(r => IsConversationEvent(r, "OnNewConversation", openImConversationId), "the SDK fetched the new conversation after its first push", Patience);
            Assert.Contains(sdk.Records, r => r.TryGetProperty("kind", out var k) && k.GetString() == "http" && r.GetProperty("path").GetString() == "/jssdk/get_conversations");
            fetchedUnread = Conversation(fetched, openImConversationId).GetProperty("unreadCount").GetInt32();
        }
        finally
        {
            hub.ReleaseAll();
        }

        await sdk.UntilAsync(() => sdk.ReceivedMessages().Any(m => m.GetProperty("clientMsgID").GetString() == secondClientMsgId), "the SDK handled the held push", Patience);
        var listed = (await sdk.OkAsync("call", new { method = "getConversationListSplit", @params = new { offset = 0, count = 50 } })).EnumerateArray()
            .Single(c => c.GetProperty("conversationID").GetString() == openImConversationId);
        Assert.True(
            listed.GetProperty("unreadCount").GetInt32() == expectedUnread,
            $"unread {listed.GetProperty("unreadCount").GetInt32()}, expected {expectedUnread} (the fetch after the first push answered {fetchedUnread}): {listed}");

        // The fetch was answered after seq 2 was committed; it counted only what the SDK had been pushed (seq 1).
        Assert.Equal(1, fetchedUnread);

        // The server's own count (a fresh login's list) is the same.
        await using var again = await NodeSdkClient.LoggedInAsync(Server, sdk.UserId);
        var fresh = (await again.OkAsync("call", new { method = "getConversationListSplit", @params = new { offset = 0, count = 50 } })).EnumerateArray()
            .Single(c => c.GetProperty("conversationID").GetString() == openImConversationId);
        Assert.Equal(expectedUnread, fresh.GetProperty("unreadCount").GetInt32());
    }

    private async Task SendAsync(object body) => AssertOk(await Server.PostAsync("/msg/send_msg", body, await Server.AdminTokenAsync()));

    private static bool IsConversationEvent(JsonElement record, string name, string conversationId) =>
        record.TryGetProperty("kind", out var kind) && kind.GetString() == "event"
        && record.GetProperty("event").GetString() == name
        && record.TryGetProperty("data", out var data) && data.ValueKind == JsonValueKind.Array
        && data.EnumerateArray().Any(c => c.ValueKind == JsonValueKind.Object && c.TryGetProperty("conversationID", out var id) && id.GetString() == conversationId);

    private static JsonElement Conversation(JsonElement record, string conversationId) =>
        record.GetProperty("data").EnumerateArray().Single(c => c.GetProperty("conversationID").GetString() == conversationId);

    private static void AssertOk(JsonElement response) => Assert.True(response.GetProperty("errCode").GetInt32() == 0, response.GetRawText());

    private static async Task UntilAsync(Func<bool> condition, string because)
    {
        var deadline = DateTime.UtcNow + Patience;
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "Timed out waiting until " + because);
            await Task.Delay(20);
        }
    }
}

/// <summary>
/// An <see cref="IDeliveryHub"/> in front of the real one that holds the committed messages of chosen conversations (every
/// other event passes at once) until released, in seq order: the window between a commit and its push, made as long as a
/// test needs.
/// </summary>
internal sealed class HoldingDeliveryHub(IDeliveryHub inner) : IDeliveryHub
{
    private readonly Lock _lock = new();
    private readonly HashSet<string> _holding = new(StringComparer.Ordinal);
    private readonly List<(string ConversationId, long Seq, Action Deliver)> _held = [];

    public void Hold(string conversationId)
    {
        lock (_lock)
        {
            _holding.Add(conversationId);
        }
    }

    public IReadOnlyList<long> HeldSeqs(string conversationId)
    {
        lock (_lock)
        {
            return [.. _held.Where(h => h.ConversationId == conversationId).Select(h => h.Seq)];
        }
    }

    /// <summary>Delivers the held messages of <paramref name="conversationId"/> up to <paramref name="throughSeq"/>; later ones stay held.</summary>
    public void Release(string conversationId, long throughSeq)
    {
        List<(string ConversationId, long Seq, Action Deliver)> due;
        lock (_lock)
        {
            due = [.. _held.Where(h => h.ConversationId == conversationId && h.Seq <= throughSeq).OrderBy(h => h.Seq)];
            _held.RemoveAll(h => h.ConversationId == conversationId && h.Seq <= throughSeq);
        }

        foreach (var held in due)
        {
            held.Deliver();
        }
    }

    /// <summary>Stops holding and delivers everything held.</summary>
    public void ReleaseAll()
    {
        List<(string ConversationId, long Seq, Action Deliver)> due;
        lock (_lock)
        {
            _holding.Clear();
            due = [.. _held.OrderBy(h => h.Seq)];
            _held.Clear();
        }

        foreach (var held in due)
        {
            held.Deliver();
        }
    }

    public void Publish(IReadOnlyList<string> userIds, DeliveryEvent @event, long version, string? excludeConnectionId)
    {
        if (!TryHold(@event, () => inner.Publish(userIds, @event, version, excludeConnectionId)))
        {
            inner.Publish(userIds, @event, version, excludeConnectionId);
        }
    }

    public void PublishToGroup(string conversationId, IReadOnlyList<string> joined, IReadOnlyList<string> left, DeliveryEvent @event, long version, string? excludeConnectionId)
    {
        if (!TryHold(@event, () => inner.PublishToGroup(conversationId, joined, left, @event, version, excludeConnectionId)))
        {
            inner.PublishToGroup(conversationId, joined, left, @event, version, excludeConnectionId);
        }
    }

    public void PublishEphemeral(IReadOnlyList<string> userIds, DeliveryEvent @event, string? excludeConnectionId) =>
        inner.PublishEphemeral(userIds, @event, excludeConnectionId);

    public void PublishToAll(DeliveryEvent @event) => inner.PublishToAll(@event);

    public long ResumeCursorFor(long version) => inner.ResumeCursorFor(version);

    private bool TryHold(DeliveryEvent @event, Action deliver)
    {
        if (@event is not MessageCommitted committed)
        {
            return false;
        }

        lock (_lock)
        {
            if (!_holding.Contains(committed.Message.ConversationId))
            {
                return false;
            }

            _held.Add((committed.Message.ConversationId, committed.Message.Seq, deliver));
            return true;
        }
    }
}
