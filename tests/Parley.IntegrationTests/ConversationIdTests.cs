using System.Net;
using System.Net.Http.Json;
using Parley.IntegrationTests.Infrastructure;
using Parley.Protocol;
using Parley.Protocol.V1;
using Parley.Sdk;

namespace Parley.IntegrationTests;

/// <summary>
/// Issue 15 defect 4: user ids may contain '_', so the unescaped <c>si_{a}_{b}</c> gave the pairs (X, y_Z) and (X_y, Z)
/// one conversation and the second pair NOT_MEMBER forever. Escaped ids (ADR 0010) keep them apart.
/// </summary>
public sealed class ConversationIdTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    private TestServer Server => fixture.Server;

    private async Task<string> CreateUserAsync(string userId)
    {
        using var response = await Server.Admin.PostAsJsonAsync("/admin/v1/users", new { userId, nickname = userId });
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        return userId;
    }

    [Fact]
    public async Task PairsWhoseUnescapedIdsCollide_EachGetTheirOwnConversation_BothWays()
    {
        var tag = Guid.NewGuid().ToString("N")[..8];
        var x = await CreateUserAsync("x" + tag);
        var yz = await CreateUserAsync("y_z" + tag);
        var xy = await CreateUserAsync("x" + tag + "_y");
        var z = await CreateUserAsync("z" + tag);
        var colon = await CreateUserAsync("x" + tag + ":y");

        var rx = new Recorder(await Server.CreateClientAsync(x));
        var ryz = new Recorder(await Server.CreateClientAsync(yz));
        var rxy = new Recorder(await Server.CreateClientAsync(xy));
        var rz = new Recorder(await Server.CreateClientAsync(z));
        await using var c1 = rx.Client;
        await using var c2 = ryz.Client;
        await using var c3 = rxy.Client;
        await using var c4 = rz.Client;
        await Task.WhenAll(c1.ConnectAsync(), c2.ConnectAsync(), c3.ConnectAsync(), c4.ConnectAsync());

        var first = await c1.SendTextAsync(yz, "x to y_z");
        var second = await c3.SendTextAsync(z, "x_y to z");
        var reply = await c4.SendTextAsync(xy, "z to x_y");
        var replyFirst = await c2.SendTextAsync(x, "y_z to x");

        Assert.NotEqual(first.ConversationId, second.ConversationId);
        Assert.Equal(first.ConversationId, replyFirst.ConversationId);
        Assert.Equal(second.ConversationId, reply.ConversationId);
        Assert.Equal($"si_x{tag}_y:_z{tag}", first.ConversationId);
        Assert.Equal($"si_x{tag}:_y_z{tag}", second.ConversationId);
        Assert.Equal([1UL, 2UL, 1UL, 2UL], new[] { first.Seq, replyFirst.Seq, second.Seq, reply.Seq });

        // Each user receives the peer's message in its own conversation and nothing of the other pair's.
        foreach (var (recorder, conversation, text) in new[] { (rz, second, "x_y to z"), (rxy, second, "z to x_y"), (ryz, first, "x to y_z"), (rx, first, "y_z to x") })
        {
            await recorder.WaitForMessagesAsync(conversation.ConversationId, 1);
            Assert.Equal([text], recorder.Messages.Select(m => m.Content.Text.Text));
        }

        // Each pair reads its own history; the other pair's conversation is not theirs.
        Assert.Equal(2, (await c2.GetHistoryAsync(first.ConversationId, 0, Direction.Backward, 10)).Messages.Count);
        var stranger = await Assert.ThrowsAsync<ParleyException>(() => c4.GetHistoryAsync(first.ConversationId, 0, Direction.Backward, 10));
        Assert.Equal(ErrorCode.NotMember, stranger.Code);

        // ':' is escaped too, so "X:y" with "z…" cannot meet "X" with "y_z…" either.
        Assert.Equal(Ids.DirectConversationId(colon, z), (await c4.SendTextAsync(colon, "to the colon")).ConversationId);
        Assert.True(Ids.TryParseDirectConversationId(Ids.DirectConversationId(colon, z), out var a, out var b));
        Assert.Equal((colon, z), (a, b));
    }
}
