using Parley.Compat.OpenIM.Wire;
using Parley.Protocol;

namespace Parley.Compat.OpenIM.Tests;

/// <summary>
/// Issue 15 defect 4 at the OpenIM edge: the pairs (X, y_Z) and (X_y, Z) both compute OpenIM's <c>si_X_y_Z</c>. Parley
/// keeps them apart (escaped ids inside, ADR 0010) while OpenIM clients keep seeing and sending OpenIM's ids.
/// </summary>
public sealed class ConversationIdCollisionTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    private OpenImTestServer Server => fixture.Server;

    [Fact]
    public async Task CollidingPairs_GetSeparateConversations_UnderOpenImsOwnId_ForPushesSeqsAndPulls()
    {
        var tag = Guid.NewGuid().ToString("N")[..8];
        string x = "x" + tag, yz = "y_z" + tag, xy = "x" + tag + "_y", z = "z" + tag;
        await OpenImUsers.RegisterAsync(Server, x, yz, xy, z);
        var openImId = OpenImUsers.Direct(x, yz);
        Assert.Equal(openImId, OpenImUsers.Direct(xy, z));

        await using var cx = await OpenImWsClient.LoginAsync(Server, x, await OpenImUsers.TokenAsync(Server, x));
        await using var cyz = await OpenImWsClient.LoginAsync(Server, yz, await OpenImUsers.TokenAsync(Server, yz));
        await using var cxy = await OpenImWsClient.LoginAsync(Server, xy, await OpenImUsers.TokenAsync(Server, xy));
        await using var cz = await OpenImWsClient.LoginAsync(Server, z, await OpenImUsers.TokenAsync(Server, z));

        var first = await cx.RequestAsync(1003, OpenImUsers.Text(x, yz, "to y_z"), SendMsgResp.Parser);
        var second = await cxy.RequestAsync(1003, OpenImUsers.Text(xy, z, "to z"), SendMsgResp.Parser);
        Assert.NotEqual(first.ServerMsgID, second.ServerMsgID);

        await Wait.UntilAsync(() => cyz.Pushed().Count == 1 && cz.Pushed().Count == 1, "each recipient got its own message");
        var toYz = cyz.Pushed().Single();
        var toZ = cz.Pushed().Single();
        Assert.Equal(openImId, toYz.ConversationId);
        Assert.Equal(openImId, toZ.ConversationId);
        Assert.Equal(("to y_z", x, yz, 1L), (OpenImUsers.TextOf(toYz.Msg), toYz.Msg.SendID, toYz.Msg.RecvID, toYz.Msg.Seq));
        Assert.Equal(("to z", xy, z, 1L), (OpenImUsers.TextOf(toZ.Msg), toZ.Msg.SendID, toZ.Msg.RecvID, toZ.Msg.Seq));

        // Reads with OpenIM's id resolve to the caller's own conversation.
        foreach (var (client, user, text) in new[] { (cx, x, "to y_z"), (cyz, yz, "to y_z"), (cxy, xy, "to z"), (cz, z, "to z") })
        {
            var seqs = await client.RequestAsync(1006, new GetConversationsHasReadAndMaxSeqReq { UserID = user }, GetConversationsHasReadAndMaxSeqResp.Parser);
            Assert.Equal([openImId], seqs.Seqs.Keys);
            Assert.Equal(1, seqs.Seqs[openImId].MaxSeq);
            var pulled = await client.RequestAsync(1005, new GetSeqMessageReq { UserID = user, Conversations = { new ConversationSeqs { ConversationID = openImId, Seqs = { 1 } } } }, GetSeqMessageResp.Parser);
            Assert.Equal(text, OpenImUsers.TextOf(pulled.Msgs[openImId].Msgs.Single()));
            var range = await client.RequestAsync(1002, new PullMessageBySeqsReq { UserID = user, SeqRanges = { new SeqRange { ConversationID = openImId, Begin = 1, End = 1, Num = 10 } } }, PullMessageBySeqsResp.Parser);
            Assert.Equal(text, OpenImUsers.TextOf(range.Msgs[openImId].Msgs.Single()));
        }

        // Parley stores them apart, under escaped ids.
        Assert.NotEqual(Ids.DirectConversationId(x, yz), Ids.DirectConversationId(xy, z));
        var conversationsOfZ = await Server.PostAsync("/conversation/get_all_conversations", new { ownerUserID = z }, await OpenImUsers.TokenAsync(Server, z, 2));
        Assert.Equal(0, conversationsOfZ.GetProperty("errCode").GetInt32());
        var listed = conversationsOfZ.GetProperty("data").GetProperty("conversations").EnumerateArray().Single();
        Assert.Equal(openImId, listed.GetProperty("conversationID").GetString());
        Assert.Equal(xy, listed.GetProperty("userID").GetString());
    }
}
