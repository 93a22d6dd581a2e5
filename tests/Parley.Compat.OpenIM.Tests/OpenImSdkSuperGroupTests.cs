using System.Net.Http.Headers;
using System.Text.Json;

namespace Parley.Compat.OpenIM.Tests;

/// <summary>
/// Super groups (issue 12, ADR 0017) through the real, unmodified <c>@openim/client-sdk</c>: OpenIM's groups are all
/// read-diffusion <c>sg_</c> conversations, so an OpenIM client must not see a difference when Parley promotes a group.
/// Messages, info changes (which no longer write member rows, ADR 0017 amendment), a kick and a login's incremental
/// group sync after a change made while the client was logged out; and OpenIM's GetConvMaxReadSeq (1006) for the
/// <c>sg_</c> conversation, sent by the SDK itself, with exact max and read seqs.
/// </summary>
public sealed class OpenImSdkSuperGroupTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    private static readonly TimeSpan Live = TimeSpan.FromSeconds(20);

    private OpenImTestServer Server => fixture.Server;

    private static Task<JsonElement> Call(NodeSdkClient sdk, string method, object? parameters = null) =>
        sdk.OkAsync("call", parameters is null ? new { method } : new { method, @params = parameters });

    private static string? Str(JsonElement element, string name) =>
        element.ValueKind == JsonValueKind.Object && element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

    private static bool Raised(NodeSdkClient sdk, string name, Func<JsonElement, bool> match) =>
        sdk.Events(name).Any(e => e.TryGetProperty("data", out var d) && (d.ValueKind == JsonValueKind.Array ? d.EnumerateArray().Any(match) : match(d)));

    private static Task Event(NodeSdkClient sdk, string name, Func<JsonElement, bool> match, string because) =>
        Wait.UntilAsync(() => Raised(sdk, name, match), $"{sdk.UserId}: {name} {because}" + sdk.Diagnostics(), Live);

    private static bool Got(NodeSdkClient sdk, string text) =>
        sdk.ReceivedMessages().Any(m => m.TryGetProperty("text", out var t) && t.GetString() == text);

    private static async Task SendAsync(NodeSdkClient sdk, string groupId, string text)
    {
        var result = await sdk.CommandAsync("sendText", new { recvID = "", groupID = groupId, text });
        Assert.True(result.GetProperty("ok").GetBoolean(), $"{sdk.UserId}'s send failed: {result}");
    }

    private static async Task<string> NameInCacheAsync(NodeSdkClient sdk, string groupId) =>
        Str((await Call(sdk, "getSpecifiedGroupsInfo", new[] { groupId })).EnumerateArray().Single(), "groupName") ?? string.Empty;

    [Fact]
    public async Task Sdk_PromotedSuperGroup_MessagesInfoChangesKickAndIncrementalLogin()
    {
        var ids = new[] { "sa", "sb", "sc" }.Select(OpenImUsers.NewId).ToArray();
        await OpenImUsers.RegisterAsync(Server, ids);
        var (alice, bob, carol) = (ids[0], ids[1], ids[2]);
        await using var a = await NodeSdkClient.LoggedInAsync(Server, alice);
        await using var b = await NodeSdkClient.LoggedInAsync(Server, bob);
        await using var c = await NodeSdkClient.LoggedInAsync(Server, carol);

        var group = await Call(a, "createGroup", new { memberUserIDs = new[] { bob, carol }, groupInfo = new { groupName = "Wide", needVerification = 2 }, adminUserIDs = Array.Empty<string>() });
        var groupId = Str(group, "groupID")!;
        await Event(b, "OnJoinedGroupAdded", d => Str(d, "groupID") == groupId, "raised for the new group");
        await Event(c, "OnJoinedGroupAdded", d => Str(d, "groupID") == groupId, "raised for the new group");

        using (var admin = new HttpClient { BaseAddress = Server.BaseUri })
        {
            admin.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", Server.AdminSecret);
            using var promoted = await admin.PostAsync($"/admin/v1/groups/{groupId}/promote", null);
            Assert.True(promoted.IsSuccessStatusCode, await promoted.Content.ReadAsStringAsync());
        }

        // Read diffusion: one broadcast per node through its roster; the OpenIM sessions are in it.
        await SendAsync(a, groupId, "after promotion");
        await Wait.UntilAsync(() => Got(b, "after promotion") && Got(c, "after promotion"), "both members got the super group's message" + b.Diagnostics(), Live);
        await SendAsync(b, groupId, "from a member");
        await Wait.UntilAsync(() => Got(a, "from a member"), "the owner got the member's message" + a.Diagnostics(), Live);

        // An info change writes no member row now; the SDKs still hear of it and keep the whole group.
        await Call(a, "setGroupInfo", new { groupID = groupId, groupName = "Wide 2" });
        await Event(b, "OnGroupInfoChanged", d => Str(d, "groupID") == groupId && Str(d, "groupName") == "Wide 2", "raised after the rename");
        Assert.Equal("Wide 2", await NameInCacheAsync(b, groupId));

        // A kicked member is told, and gets nothing afterwards.
        await Call(a, "kickGroupMember", new { groupID = groupId, reason = "bye", userIDList = new[] { carol } });
        await Event(c, "OnJoinedGroupDeleted", d => Str(d, "groupID") == groupId, "raised at the kicked member");
        await SendAsync(a, groupId, "after the kick");
        await Wait.UntilAsync(() => Got(b, "after the kick"), "bob got the message after the kick" + b.Diagnostics(), Live);

        // bob is logged out while the group is renamed again: his next login's incremental group sync brings the name.
        var connected = b.Events(NodeSdkClient.CbConnectSuccess).Count();
        var synced = b.Events("OnSyncServerFinish").Count();
        await b.OkAsync("logout");
        await Call(a, "setGroupInfo", new { groupID = groupId, groupName = "Wide 3" });
        await b.OkAsync("login");
        await b.UntilAsync(() => b.Events(NodeSdkClient.CbConnectSuccess).Count() > connected && b.Events("OnSyncServerFinish").Count() > synced, "bob's second login synced");
        var watch = System.Diagnostics.Stopwatch.StartNew();
        string name;
        while ((name = await NameInCacheAsync(b, groupId)) != "Wide 3" && watch.Elapsed < Live)
        {
            await Task.Delay(200); // polling the SDK's cache, as Wait.UntilAsync polls a condition
        }

        Assert.Equal("Wide 3", name);
        var carolsGroups = await Call(c, "getJoinedGroupListPage", new { offset = 0, count = 50 });
        Assert.DoesNotContain(carolsGroups.EnumerateArray(), g => Str(g, "groupID") == groupId);
        Assert.False(Got(c, "after the kick"), "the kicked member must not get a message sent after the kick");
    }

    /// <summary>The SDK's 1006 (GetConvMaxReadSeq) for the named conversations: {maxSeq, hasReadSeq} per conversation.</summary>
    private static async Task<Dictionary<string, (long MaxSeq, long HasReadSeq)>> MaxReadSeqsAsync(NodeSdkClient sdk, params string[] conversationIds)
    {
        var seqs = await sdk.OkAsync("maxReadSeqs", new { conversationIDs = conversationIds });
        return seqs.EnumerateObject().ToDictionary(p => p.Name, p => (Long(p.Value, "maxSeq"), Long(p.Value, "hasReadSeq")));

        static long Long(JsonElement element, string name) =>
            !element.TryGetProperty(name, out var value) ? 0
            : value.ValueKind == JsonValueKind.String ? long.Parse(value.GetString()!, System.Globalization.CultureInfo.InvariantCulture)
            : value.GetInt64();
    }

    [Fact]
    public async Task Sdk_GetConvMaxReadSeq_OfASuperGroup_MaxSeqAndReadSeqExact_AfterMessagesAndAMarkRead()
    {
        var ids = new[] { "ra", "rb", "rc", "rd" }.Select(OpenImUsers.NewId).ToArray();
        await OpenImUsers.RegisterAsync(Server, ids);
        var (alice, bob, carol, dave) = (ids[0], ids[1], ids[2], ids[3]);
        await using var a = await NodeSdkClient.LoggedInAsync(Server, alice);
        await using var b = await NodeSdkClient.LoggedInAsync(Server, bob);
        await using var c = await NodeSdkClient.LoggedInAsync(Server, carol);
        await using var outsider = await NodeSdkClient.LoggedInAsync(Server, dave);

        var group = await Call(a, "createGroup", new { memberUserIDs = new[] { bob, carol }, groupInfo = new { groupName = "Seqs", needVerification = 2 }, adminUserIDs = Array.Empty<string>() });
        var groupId = Str(group, "groupID")!;
        var conversation = "sg_" + groupId;
        await Event(b, "OnJoinedGroupAdded", d => Str(d, "groupID") == groupId, "raised for the new group");
        using (var admin = new HttpClient { BaseAddress = Server.BaseUri })
        {
            admin.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", Server.AdminSecret);
            using var promoted = await admin.PostAsync($"/admin/v1/groups/{groupId}/promote", null);
            Assert.True(promoted.IsSuccessStatusCode, await promoted.Content.ReadAsStringAsync());
        }

        // Two notices so far: the creation (seq 1, before which the members joined: read up to 0) and the promotion (seq 2).
        Assert.Equal((2L, 0L), (await MaxReadSeqsAsync(b, conversation))[conversation]);

        // Three messages from alice take seqs 3, 4, 5 (as bob's SDK received them); her own messages count as read.
        foreach (var text in new[] { "one", "two", "three" })
        {
            await SendAsync(a, groupId, text);
        }

        await Wait.UntilAsync(() => Got(b, "three") && Got(c, "three"), "both members got the messages" + b.Diagnostics(), Live);
        var received = new[] { "one", "two", "three" }
            .Select(text => b.ReceivedMessages().First(m => m.TryGetProperty("text", out var t) && t.GetString() == text).GetProperty("seq").GetInt64());
        Assert.Equal([3L, 4L, 5L], received);
        Assert.Equal((5L, 5L), (await MaxReadSeqsAsync(a, conversation))[conversation]);
        Assert.Equal((5L, 0L), (await MaxReadSeqsAsync(b, conversation))[conversation]);

        // bob marks the conversation read through the SDK: his read seq is the max seq; carol's has not moved.
        await b.OkAsync("markRead", new { conversationID = conversation });
        var seen = (MaxSeq: 0L, HasReadSeq: 0L);
        var watch = System.Diagnostics.Stopwatch.StartNew();
        while ((seen = (await MaxReadSeqsAsync(b, conversation))[conversation]).HasReadSeq != 5 && watch.Elapsed < Live)
        {
            await Task.Delay(200); // the SDK's mark-read reaches the server by REST; polling for its effect
        }

        Assert.Equal((5L, 5L), seen);
        Assert.Equal((5L, 0L), (await MaxReadSeqsAsync(c, conversation))[conversation]);

        // One more message: the max seq moves for everyone, bob's read seq stays where he read (unread 1).
        await SendAsync(a, groupId, "four");
        await Wait.UntilAsync(() => Got(b, "four"), "bob got the fourth message" + b.Diagnostics(), Live);
        Assert.Equal((6L, 5L), (await MaxReadSeqsAsync(b, conversation))[conversation]);
        Assert.Equal((6L, 0L), (await MaxReadSeqsAsync(c, conversation))[conversation]);
        Assert.Equal((6L, 6L), (await MaxReadSeqsAsync(a, conversation))[conversation]);

        // Asked with no conversation named (what the SDK sends at login), the super group is among bob's conversations.
        Assert.Equal((6L, 5L), (await MaxReadSeqsAsync(b))[conversation]);

        // Someone who is not a member learns nothing of the group's seqs.
        Assert.False((await MaxReadSeqsAsync(outsider, conversation)).ContainsKey(conversation), "a non-member must not get the super group's seqs");
    }
}
