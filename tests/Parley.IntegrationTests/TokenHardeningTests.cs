using System.Net;
using System.Net.Http.Headers;
using Microsoft.Extensions.DependencyInjection;
using Parley.Abstractions.Messaging;
using Parley.IntegrationTests.Infrastructure;
using Parley.Protocol;
using Parley.Protocol.V1;
using Parley.Sdk;

namespace Parley.IntegrationTests;

/// <summary>Issue 15, defects 2 and 9: a token signature with invalid base64url or padding is an authentication failure.</summary>
public sealed class TokenHardeningTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    private TestServer Server => fixture.Server;

    private static string[] Respelled(string token) =>
    [
        token[..^2] + "*!",
        token[..^1] + "+",
        token[..^1] + "/",
        token + "=",
        token + "==",
        token[..^5] + "%00ab",
    ];

    [Fact]
    public async Task DeviceApi_InvalidBase64UrlOrPaddedSignature_Is401NotAStackTrace()
    {
        var user = await Server.CreateUserAsync("sighttp");
        var token = await Server.IssueTokenAsync(user, "d1");
        using var http = new HttpClient { BaseAddress = Server.BaseUri };
        foreach (var bad in Respelled(token))
        {
            using var request = new HttpRequestMessage(HttpMethod.Delete, "/api/v1/device");
            request.Headers.TryAddWithoutValidation("Authorization", "Bearer " + bad);
            using var response = await http.SendAsync(request);
            var body = await response.Content.ReadAsStringAsync();
            Assert.True(response.StatusCode == HttpStatusCode.Unauthorized, $"'…{bad[^6..]}' answered {(int)response.StatusCode}: {body[..Math.Min(body.Length, 200)]}");
            Assert.DoesNotContain("   at ", body, StringComparison.Ordinal);
        }

        using var good = new HttpRequestMessage(HttpMethod.Delete, "/api/v1/device");
        good.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        Assert.NotEqual(HttpStatusCode.Unauthorized, (await http.SendAsync(good)).StatusCode);
    }

    [Fact]
    public async Task NativeHello_InvalidBase64UrlOrPaddedSignature_GetsUnauthenticatedAndClose4003()
    {
        var user = await Server.CreateUserAsync("sigws");
        var token = await Server.IssueTokenAsync(user, "d1");
        foreach (var bad in Respelled(token))
        {
            await using var raw = await RawClient.ConnectAsync(Server.WebSocketUri);
            await raw.SendAsync(new ClientFrame { RequestId = 1, Hello = new Hello { Token = bad, DeviceId = "d1", Platform = Platform.Linux } });
            var error = await raw.ReceiveAsync(TimeSpan.FromSeconds(10));
            Assert.True(error?.Error?.Code == ErrorCode.Unauthenticated, $"'…{bad[^6..]}' got {error}");
            Assert.Equal(CloseCodes.HandshakeFailed, await raw.ReceiveCloseAsync());
        }

        await using var ok = await RawClient.ConnectAsync(Server.WebSocketUri);
        await ok.HelloAsync(token, "d1");
    }
}

/// <summary>Issue 15, defect 9: the smaller ones.</summary>
public sealed class SmallDefectTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    private TestServer Server => fixture.Server;

    [Theory]
    [InlineData(922_337_203_685L)]
    [InlineData(long.MaxValue)]
    public async Task IssueToken_HugeTtl_IsCappedNot500(long ttlSeconds)
    {
        var user = await Server.CreateUserAsync("ttl");
        var response = await Server.Admin.PostAsync($"/admin/v1/users/{user}/tokens", new StringContent($"{{\"deviceId\":\"d1\",\"platform\":\"linux\",\"ttlSeconds\":{ttlSeconds}}}", System.Text.Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Fact]
    public async Task History_ForwardFromTheLargestSeq_ReturnsNothingNotTheStart()
    {
        var alice = await Server.CreateUserAsync("hist");
        var bob = await Server.CreateUserAsync("hist");
        await using var raw = await RawClient.ConnectAsync(Server.WebSocketUri);
        await raw.HelloAsync(await Server.IssueTokenAsync(alice, "d1"), "d1");
        await raw.SendAsync(new ClientFrame { RequestId = 2, Send = new SendRequest { ClientMsgId = "h1", Target = new Target { UserId = bob }, Content = new Content { Text = new TextContent { Text = "first" } } } });
        var ack = await ReceiveAsync(raw, 2);
        await raw.SendAsync(new ClientFrame { RequestId = 3, History = new HistoryRequest { ConversationId = ack.SendAck.ConversationId, FromSeq = ulong.MaxValue, Direction = Direction.Forward, Limit = 10 } });
        var page = await ReceiveAsync(raw, 3);
        Assert.Equal(ServerFrame.BodyOneofCase.History, page.BodyCase);
        Assert.Empty(page.History.Messages);
    }

    [Fact]
    public async Task NativeHello_ResumeCursorFromTheFuture_GetsCursorAheadAndClose4011_NotASilentEmptySync()
    {
        var user = await Server.CreateUserAsync("fut");
        var token = await Server.IssueTokenAsync(user, "d1");
        var max = await Server.Services.GetRequiredService<IMessageStore>().GetMaxVersionAsync();
        foreach (var cursor in new[] { (ulong)max + 1_000_000, ulong.MaxValue })
        {
            await using var raw = await RawClient.ConnectAsync(Server.WebSocketUri);
            await raw.SendAsync(new ClientFrame { RequestId = 1, Hello = new Hello { Token = token, DeviceId = "d1", Platform = Platform.Linux, ResumeCursor = cursor } });
            var error = await raw.ReceiveAsync(TimeSpan.FromSeconds(10));
            Assert.True(error?.Error?.Code == ErrorCode.CursorAhead, $"cursor {cursor} got {error}");
            Assert.Equal(1u, error!.RequestId);
            Assert.Equal(CloseCodes.CursorAhead, await raw.ReceiveCloseAsync());
        }

        // A cursor the server did hand out (its current max) is accepted.
        await using var ok = await RawClient.ConnectAsync(Server.WebSocketUri);
        await ok.SendAsync(new ClientFrame { RequestId = 1, Hello = new Hello { Token = token, DeviceId = "d1", Platform = Platform.Linux, ResumeCursor = (ulong)Math.Max(max, 1) } });
        Assert.Equal(ServerFrame.BodyOneofCase.HelloOk, (await ok.ReceiveAsync(TimeSpan.FromSeconds(10)))?.BodyCase);
    }

    [Fact]
    public async Task Sdk_LocalStateAheadOfTheServer_DropsItAndResyncsFromZero_ReportingFullResync()
    {
        var alice = await Server.CreateUserAsync("rsa");
        var bob = await Server.CreateUserAsync("rsb");
        await using var sender = await Server.ConnectAsync(bob);
        var first = await sender.SendTextAsync(alice, "before the restore");
        await sender.SendTextAsync(alice, "second");

        // The device's state comes from a server whose data was later replaced by an older copy: its cursor is ahead
        // of this feed and it believes it has seen seq 50 of the conversation.
        var state = new InMemoryParleyClientState { Cursor = (ulong)await Server.Services.GetRequiredService<IMessageStore>().GetMaxVersionAsync() + 5_000 };
        state.SetMaxSeq(first.ConversationId, 50);
        var recorder = new Recorder(await Server.CreateClientAsync(alice, "d1", Platform.Linux, state));
        await using var client = recorder.Client;
        await client.ConnectAsync();

        await Wait.UntilAsync(() => recorder.Syncs.Count == 1, "the resync completed");
        var sync = recorder.Syncs[0];
        Assert.True(sync.FullResync);
        Assert.True(sync.Cursor <= (ulong)await Server.Services.GetRequiredService<IMessageStore>().GetMaxVersionAsync());
        Assert.Equal(sync.Cursor, state.Cursor);
        // Seqs 1 and 2 are raised again although the stale state claimed seq 50.
        await recorder.WaitForMessagesAsync(first.ConversationId, 2);
        Assert.Equal([1UL, 2UL], recorder.MessagesIn(first.ConversationId).Select(m => m.Seq));
        Assert.Equal(2UL, state.GetMaxSeq(first.ConversationId));
        Assert.Equal(ConnectionState.Connected, client.State);

        // The next reconnect resumes normally (no second full resync).
        await client.DisposeAsync();
        var again = new Recorder(await Server.CreateClientAsync(alice, "d1", Platform.Linux, state));
        await using var second = again.Client;
        await second.ConnectAsync();
        await Wait.UntilAsync(() => again.Syncs.Count == 1, "the normal resume completed");
        Assert.False(again.Syncs[0].FullResync);
        Assert.Empty(again.Messages);
    }

    [Fact]
    public async Task CreateGroup_MemberIdsAsDocumented_EmptyIsTheCreatorAlone_Over500IsBadRequest()
    {
        var owner = await Server.CreateUserAsync("grp");
        await using var client = await Server.ConnectAsync(owner);

        var alone = await client.CreateGroupAsync("just me", []);
        var members = await client.GetMembersAsync(alone.GroupId);
        Assert.Equal([owner], members.Members.Select(m => m.UserId));

        var withSelfAndDuplicates = await client.CreateGroupAsync("me twice", [owner, owner]);
        Assert.Single((await client.GetMembersAsync(withSelfAndDuplicates.GroupId)).Members);

        var tooMany = await Assert.ThrowsAsync<ParleyException>(() => client.CreateGroupAsync("crowd", Enumerable.Range(0, 501).Select(i => "m" + i)));
        Assert.Equal(ErrorCode.BadRequest, tooMany.Code);
    }

    private static async Task<ServerFrame> ReceiveAsync(RawClient raw, uint requestId)
    {
        while (true)
        {
            var frame = await raw.ReceiveAsync() ?? throw new InvalidOperationException("closed");
            if (frame.RequestId == requestId)
            {
                return frame;
            }
        }
    }
}
