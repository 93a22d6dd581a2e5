using Parley.Protocol.V1;

namespace Parley.Sdk.Tests;

public sealed class ParleyClientTests : IAsyncLifetime
{
    private ScriptedServer _server = null!;
    private readonly Recorder<Message> _messages = new();
    private readonly Recorder<ConnectionStateChangedEventArgs> _states = new();
    private readonly Recorder<object> _events = new();

    public async Task InitializeAsync() => _server = await ScriptedServer.StartAsync();

    public async Task DisposeAsync() => await _server.DisposeAsync();

    private ParleyClient CreateClient(IParleyClientState? state = null, TimeSpan? heartbeat = null)
    {
        var client = new ParleyClient(new ParleyClientOptions
        {
            ServerUri = _server.Uri,
            Token = "tok",
            DeviceId = "laptop",
            Platform = Platform.Linux,
            LocalState = state ?? new InMemoryParleyClientState(),
            ReconnectInitialDelay = TimeSpan.FromMilliseconds(20),
            ReconnectMaxDelay = TimeSpan.FromMilliseconds(100),
            HeartbeatInterval = heartbeat ?? TimeSpan.FromSeconds(20),
        });
        client.MessageReceived += (_, e) => _messages.Add(e.Message);
        client.ConnectionStateChanged += (_, e) => _states.Add(e);
        client.ReceiptReceived += (_, e) => _events.Add(e.Receipt);
        client.ConversationUpdated += (_, e) => _events.Add(e.Conversation);
        client.Kicked += (_, e) => _events.Add(e);
        client.TypingReceived += (_, e) => _events.Add(e.Typing);
        client.MessageRevoked += (_, e) => _events.Add(e);
        return client;
    }

    private async Task<(ParleyClient Client, PeerConnection Peer)> ConnectAsync(IParleyClientState? state = null, ulong cursor = 0, params ConversationSync[] sync)
    {
        var client = CreateClient(state);
        var connect = client.ConnectAsync();
        var (peer, _) = await _server.AcceptSessionAsync(cursor, 0, sync);
        await connect.WaitAsync(ScriptedServer.Timeout);
        return (client, peer);
    }

    private static IEnumerable<ulong> Seqs(IEnumerable<Message> messages) => messages.Select(m => m.Seq);

    [Fact]
    public async Task ConnectAsync_HelloThenSync_CompletesOnlyAfterSyncComplete()
    {
        await using var client = CreateClient();
        var connect = client.ConnectAsync();
        var peer = await _server.AcceptAsync();
        var hello = await peer.ExpectHelloAsync();
        Assert.Equal("tok", hello.Token);
        Assert.Equal("laptop", hello.DeviceId);
        Assert.Equal(Platform.Linux, hello.Platform);
        Assert.Equal(0ul, hello.ResumeCursor);
        Assert.StartsWith("parley-dotnet/", hello.ClientVersion, StringComparison.Ordinal);

        await peer.SendHelloOkAsync();
        var batch = new SyncBatch();
        batch.Conversations.Add(Frames.Sync("si_alice_bob", false, Frames.Text("si_alice_bob", 1, 7)));
        await peer.SendAsync(new ServerFrame { SyncBatch = batch });
        await _messages.WaitAsync(m => m.Count == 1, "the synced message");
        Assert.False(connect.IsCompleted, "ConnectAsync must wait for SyncComplete");

        var synced = new TaskCompletionSource<SyncCompletedEventArgs>();
        client.SyncCompleted += (_, e) => synced.TrySetResult(e);
        await peer.SendAsync(new ServerFrame { SyncComplete = new SyncComplete { Cursor = 7, Conversations = 1, Messages = 1 } });
        await connect.WaitAsync(ScriptedServer.Timeout);

        var args = await synced.Task.WaitAsync(ScriptedServer.Timeout);
        Assert.Equal(7ul, args.Cursor);
        Assert.Equal(1u, args.ConversationCount);
        Assert.Equal("si_alice_bob", Assert.Single(args.Conversations).ConversationId);
        Assert.Equal(ConnectionState.Connected, client.State);
        Assert.Equal("alice", client.UserId);
        Assert.Equal(7ul, client.Cursor);
    }

    [Fact]
    public async Task ConnectAsync_HandshakeRefused_ThrowsTypedError()
    {
        await using var client = CreateClient();
        var connect = client.ConnectAsync();
        var peer = await _server.AcceptAsync();
        var hello = await peer.ReceiveAsync();
        Assert.NotNull(hello);
        await peer.SendAsync(new ServerFrame { RequestId = 1, Error = new Error { Code = ErrorCode.TokenExpired, Message = "expired" } });
        await peer.CloseAsync(4003);

        var error = await Assert.ThrowsAsync<ParleyException>(() => connect.WaitAsync(ScriptedServer.Timeout));
        Assert.Equal(ErrorCode.TokenExpired, error.Code);
        Assert.Equal(ConnectionState.Disconnected, client.State);
    }

    [Fact]
    public async Task Requests_ResultsOutOfOrder_MatchedByRequestIdAndErrorsTyped()
    {
        var (client, peer) = await ConnectAsync();
        await using var _ = client;

        var history = client.GetHistoryAsync("c1", 0, Direction.Backward, 10);
        var hreq = await peer.ExpectAsync(ClientFrame.BodyOneofCase.History);
        var read = client.MarkReadAsync("c2", 5);
        var rreq = await peer.ExpectAsync(ClientFrame.BodyOneofCase.MarkRead);
        Assert.NotEqual(0u, hreq.RequestId);
        Assert.NotEqual(hreq.RequestId, rreq.RequestId);
        Assert.Equal(10u, hreq.History.Limit);

        await peer.SendAsync(new ServerFrame { RequestId = rreq.RequestId, MarkRead = new MarkReadResult { ConversationId = "c2", ReadSeq = 5 } });
        await peer.SendAsync(new ServerFrame { RequestId = hreq.RequestId, History = new HistoryResult { ConversationId = "c1", MaxSeq = 3 } });
        Assert.Equal(5ul, (await read.WaitAsync(ScriptedServer.Timeout)).ReadSeq);
        Assert.Equal(3ul, (await history.WaitAsync(ScriptedServer.Timeout)).MaxSeq);

        var update = client.UpdateConversationAsync("c1", pinned: true);
        var ureq = await peer.ExpectAsync(ClientFrame.BodyOneofCase.UpdateConversation);
        Assert.True(ureq.UpdateConversation.HasPinned);
        Assert.False(ureq.UpdateConversation.HasMuted);
        await peer.SendAsync(new ServerFrame { RequestId = ureq.RequestId, Error = new Error { Code = ErrorCode.NotMember, Message = "no", RetryAfterMs = 1500 } });
        var error = await Assert.ThrowsAsync<ParleyException>(() => update.WaitAsync(ScriptedServer.Timeout));
        Assert.Equal(ErrorCode.NotMember, error.Code);
        Assert.Equal(TimeSpan.FromMilliseconds(1500), error.RetryAfter);
    }

    [Fact]
    public async Task SendAsync_ConnectionDropsBeforeAck_ResentAfterResyncWithSameClientMsgId()
    {
        var (client, peer) = await ConnectAsync(cursor: 3);
        await using var _ = client;

        var send = client.SendTextAsync("bob", "hello");
        var first = await peer.ExpectAsync(ClientFrame.BodyOneofCase.Send);
        Assert.Equal("bob", first.Send.Target.UserId);
        Assert.Equal(32, first.Send.ClientMsgId.Length);
        peer.Abort();

        var (peer2, hello) = await _server.AcceptSessionAsync(cursor: 3);
        Assert.Equal(3ul, hello.ResumeCursor);
        var second = await peer2.ExpectAsync(ClientFrame.BodyOneofCase.Send);
        Assert.Equal(first.Send.ClientMsgId, second.Send.ClientMsgId);
        Assert.Equal("hello", second.Send.Content.Text.Text);
        await peer2.SendAsync(new ServerFrame
        {
            RequestId = second.RequestId,
            SendAck = new SendAck { ConversationId = "si_alice_bob", Seq = 9, ServerMsgId = "m9", ServerTime = 1000, Duplicate = true, Version = 99 },
        });

        var receipt = await send.WaitAsync(ScriptedServer.Timeout);
        Assert.Equal(9ul, receipt.Seq);
        Assert.True(receipt.Duplicate);
        Assert.Equal(first.Send.ClientMsgId, receipt.ClientMsgId);
        // Every event up to an ack's version precedes the ack on the wire, so the ack moves the cursor too.
        var deadline = DateTime.UtcNow + ScriptedServer.Timeout;
        while (client.Cursor != 99ul && DateTime.UtcNow < deadline)
        {
            await Task.Delay(5);
        }

        Assert.Equal(99ul, client.Cursor);
    }

    [Fact]
    public async Task SendAsync_TransientErrorThenAck_RetriedWithSameIdAndOtherErrorsFail()
    {
        var (client, peer) = await ConnectAsync();
        await using var _ = client;

        var send = client.SendTextToConversationAsync("sg_x", "hi", "my-id");
        var first = await peer.ExpectAsync(ClientFrame.BodyOneofCase.Send);
        await peer.SendAsync(new ServerFrame { RequestId = first.RequestId, Error = new Error { Code = ErrorCode.Unavailable } });
        var second = await peer.ExpectAsync(ClientFrame.BodyOneofCase.Send);
        Assert.Equal("my-id", second.Send.ClientMsgId);
        Assert.NotEqual(first.RequestId, second.RequestId);
        await peer.SendAsync(new ServerFrame { RequestId = second.RequestId, SendAck = new SendAck { ConversationId = "sg_x", Seq = 1 } });
        Assert.Equal(1ul, (await send.WaitAsync(ScriptedServer.Timeout)).Seq);

        var refused = client.SendCustomAsync(new Target { ConversationId = "sg_x" }, "card", "{}");
        var third = await peer.ExpectAsync(ClientFrame.BodyOneofCase.Send);
        Assert.Equal("card", third.Send.Content.Custom.Type);
        await peer.SendAsync(new ServerFrame { RequestId = third.RequestId, Error = new Error { Code = ErrorCode.TooLarge } });
        Assert.Equal(ErrorCode.TooLarge, (await Assert.ThrowsAsync<ParleyException>(() => refused.WaitAsync(ScriptedServer.Timeout))).Code);
    }

    [Fact]
    public async Task Messages_DeliveredLiveAndAgainInSync_RaisedOnceInOrder()
    {
        var state = new InMemoryParleyClientState();
        var (client, peer) = await ConnectAsync(state, 10, Frames.Sync("c", false, Frames.Text("c", 1), Frames.Text("c", 2)));
        await using var _ = client;
        client.MessageReceived += (_, _) => throw new InvalidOperationException("a faulty handler must not stop delivery");

        await peer.SendAsync(new ServerFrame { Message = Frames.Text("c", 2, 11) });
        await peer.SendAsync(new ServerFrame { Message = Frames.Text("c", 3, 12) });
        await _messages.WaitAsync(m => m.Any(x => x.Seq == 3), "live seq 3");
        peer.Abort();

        // The next sync repeats seq 3 (already raised live) and brings 4.
        var (_, hello) = await _server.AcceptSessionAsync(20, 0, Frames.Sync("c", false, Frames.Text("c", 3), Frames.Text("c", 4)));
        Assert.Equal(12ul, hello.ResumeCursor);
        await _messages.WaitAsync(m => m.Any(x => x.Seq == 4), "synced seq 4");

        Assert.Equal(new ulong[] { 1, 2, 3, 4 }, Seqs(_messages.Items));
        Assert.Equal(4ul, state.GetMaxSeq("c"));
    }

    [Fact]
    public async Task Cursor_AdvancedByVersionedEvents_SentInNextHello()
    {
        var state = new InMemoryParleyClientState();
        var (client, peer) = await ConnectAsync(state, cursor: 10);
        await using var _ = client;
        Assert.Equal(10ul, client.Cursor);

        await peer.SendAsync(new ServerFrame { Message = Frames.Text("c", 1, 11) });
        await peer.SendAsync(new ServerFrame { Receipt = new ReceiptEvent { ConversationId = "c", UserId = "bob", ReadSeq = 1, Version = 12 } });
        await peer.SendAsync(new ServerFrame { ConversationUpdated = new ConversationUpdatedEvent { Conversation = new Conversation { ConversationId = "c", Pinned = true }, Version = 13 } });
        // Unversioned and raised after the cursor moved past 13: waiting for it means the events before are processed.
        await peer.SendAsync(new ServerFrame { Typing = new TypingEvent { ConversationId = "c", UserId = "bob", Typing = true } });
        await _events.WaitAsync(e => e.OfType<TypingEvent>().Any(), "TypingReceived");
        Assert.Equal(new[] { typeof(ReceiptEvent), typeof(Conversation), typeof(TypingEvent) }, _events.Items.Select(e => e.GetType()));
        Assert.Equal(13ul, client.Cursor);
        Assert.Equal(13ul, state.Cursor);

        await peer.CloseAsync(1001);
        var (_, hello) = await _server.AcceptSessionAsync(cursor: 13);
        Assert.Equal(13ul, hello.ResumeCursor);
    }

    [Fact]
    public async Task Sync_TruncatedKnownConversation_PullsGapBeforeRaisingInSeqOrder()
    {
        var state = new InMemoryParleyClientState { Cursor = 100 };
        state.SetMaxSeq("known", 5);
        await using var client = CreateClient(state);
        var synced = new TaskCompletionSource<SyncCompletedEventArgs>();
        client.SyncCompleted += (_, e) => synced.TrySetResult(e);
        var connect = client.ConnectAsync();

        var peer = await _server.AcceptAsync();
        Assert.Equal(100ul, (await peer.ExpectHelloAsync()).ResumeCursor);
        await peer.SendHelloOkAsync();
        var batch = new SyncBatch();
        batch.Conversations.Add(Frames.Sync("known", true, Frames.Text("known", 250), Frames.Text("known", 251)));
        batch.Conversations.Add(Frames.Sync("unknown", true, Frames.Text("unknown", 40), Frames.Text("unknown", 41)));
        await peer.SendAsync(new ServerFrame { SyncBatch = batch });

        var page1 = await peer.ExpectAsync(ClientFrame.BodyOneofCase.History);
        Assert.Equal(("known", 6ul, Direction.Forward, 200u), (page1.History.ConversationId, page1.History.FromSeq, page1.History.Direction, page1.History.Limit));
        await peer.SendAsync(new ServerFrame { RequestId = page1.RequestId, History = History("known", 6, 205, hasMore: true) });
        var page2 = await peer.ExpectAsync(ClientFrame.BodyOneofCase.History);
        Assert.Equal(206ul, page2.History.FromSeq);
        // The server may return messages the sync already carried; they must not be raised twice.
        await peer.SendAsync(new ServerFrame { RequestId = page2.RequestId, History = History("known", 206, 251, hasMore: false) });
        await peer.SendAsync(new ServerFrame { SyncComplete = new SyncComplete { Cursor = 300, Conversations = 2, Messages = 4 } });
        await connect.WaitAsync(ScriptedServer.Timeout);
        await synced.Task.WaitAsync(ScriptedServer.Timeout);

        var known = Seqs(_messages.Items.Where(m => m.ConversationId == "known")).ToArray();
        Assert.Equal(Enumerable.Range(6, 246).Select(i => (ulong)i), known);
        // Never seen before: not back-filled.
        Assert.Equal(new ulong[] { 40, 41 }, Seqs(_messages.Items.Where(m => m.ConversationId == "unknown")));
        Assert.Equal(300ul, client.Cursor);

        // The next frame the client sends is this Ping: no HistoryRequest was issued for "unknown".
        var ping = client.PingAsync();
        var pingFrame = await peer.ExpectAsync(ClientFrame.BodyOneofCase.Ping);
        await peer.SendAsync(new ServerFrame { RequestId = pingFrame.RequestId, Pong = new Pong { ServerTime = 5 } });
        await ping.WaitAsync(ScriptedServer.Timeout);
    }

    private static HistoryResult History(string conversationId, ulong from, ulong to, bool hasMore)
    {
        var result = new HistoryResult { ConversationId = conversationId, HasMore = hasMore, MaxSeq = 251 };
        for (var seq = from; seq <= to; seq++)
        {
            result.Messages.Add(Frames.Text(conversationId, seq));
        }

        return result;
    }

    [Fact]
    public async Task Close4001_NoReconnect_PendingSendFails()
    {
        var (client, peer) = await ConnectAsync();
        await using var _ = client;

        var send = client.SendTextAsync("bob", "x");
        await peer.ExpectAsync(ClientFrame.BodyOneofCase.Send);
        await peer.CloseAsync(4001, "displaced");

        await _states.WaitAsync(s => s.Any(x => x.State == ConnectionState.Disconnected), "Disconnected");
        var disconnected = _states.Items[^1];
        Assert.Equal(4001, disconnected.CloseCode);
        Assert.DoesNotContain(_states.Items, s => s.State == ConnectionState.Reconnecting);
        var error = await Assert.ThrowsAsync<ParleyException>(() => send.WaitAsync(ScriptedServer.Timeout));
        Assert.Equal(4001, error.CloseCode);
        Assert.False(await _server.ConnectsWithinAsync(TimeSpan.FromMilliseconds(500)), "the client reconnected after 4001");
        Assert.Equal(1, _server.ConnectionCount);
    }

    [Fact]
    public async Task KickEvent_RaisesKickedAndDoesNotReconnect()
    {
        var (client, peer) = await ConnectAsync();
        await using var _ = client;

        await peer.SendAsync(new ServerFrame { Kick = new KickEvent { Reason = KickReason.ForceLogout, Detail = "admin" } });
        await peer.CloseAsync(1000);

        await _states.WaitAsync(s => s.Any(x => x.State == ConnectionState.Disconnected), "Disconnected");
        var kicked = Assert.Single(_events.Items.OfType<KickedEventArgs>());
        Assert.Equal(KickReason.ForceLogout, kicked.Reason);
        Assert.Equal(ConnectionState.Disconnected, client.State);
        Assert.False(await _server.ConnectsWithinAsync(TimeSpan.FromMilliseconds(500)), "the client reconnected after a kick");
    }

    [Fact]
    public async Task Close4008_ReconnectsWithBackoffAndResumes()
    {
        var (client, peer) = await ConnectAsync(cursor: 5);
        await using var _ = client;

        await peer.CloseAsync(4008, "outbox overflow");
        var (_, hello) = await _server.AcceptSessionAsync(cursor: 6);
        Assert.Equal(5ul, hello.ResumeCursor);
        await _states.WaitAsync(s => s.Count(x => x.State == ConnectionState.Connected) == 2, "connected again");

        var reconnecting = Assert.Single(_states.Items, s => s.State == ConnectionState.Reconnecting);
        Assert.Equal(4008, reconnecting.CloseCode);
        Assert.NotNull(reconnecting.RetryDelay);
        Assert.InRange(reconnecting.RetryDelay.Value, TimeSpan.Zero, TimeSpan.FromMilliseconds(20));
        Assert.Equal(
            new[] { ConnectionState.Connecting, ConnectionState.Connected, ConnectionState.Reconnecting, ConnectionState.Connected },
            _states.Items.Select(s => s.State));
        Assert.Equal(6ul, client.Cursor);
    }

    [Fact]
    public async Task Heartbeat_PingsAndReconnectsWhenServerGoesSilent()
    {
        await using var client = CreateClient(heartbeat: TimeSpan.FromMilliseconds(300));
        var connect = client.ConnectAsync();
        var (peer, _) = await _server.AcceptSessionAsync(heartbeatMs: 5000);
        await connect.WaitAsync(ScriptedServer.Timeout);

        // The shorter of the client option and HelloOk's interval wins; the silent server never answers.
        var ping = await peer.ReceiveAsync();
        Assert.Equal(ClientFrame.BodyOneofCase.Ping, ping?.BodyCase);
        Assert.NotEqual(0u, ping!.RequestId);

        var second = await _server.AcceptAsync("the client should declare the silent connection dead");
        Assert.Equal(ClientFrame.BodyOneofCase.Hello, (await second.ReceiveAsync())?.BodyCase);
        Assert.Contains(_states.Items, s => s.State == ConnectionState.Reconnecting);
    }

    [Fact]
    public async Task Revoke_RaisesMessageRevokedAfterTheNotification()
    {
        var (client, peer) = await ConnectAsync();
        await using var _ = client;

        var notice = new Message { ConversationId = "c", Seq = 8, Version = 1, Content = new Content { Revoke = new RevokeContent { Seq = 3, RevokedBy = "bob", ServerMsgId = "m3" } } };
        await peer.SendAsync(new ServerFrame { Message = notice });
        await _events.WaitAsync(e => e.OfType<MessageRevokedEventArgs>().Any(), "MessageRevoked");
        var revoked = Assert.Single(_events.Items.OfType<MessageRevokedEventArgs>());
        Assert.Equal(("c", 3ul, "bob"), (revoked.ConversationId, revoked.Seq, revoked.RevokedBy));
        Assert.Equal(8ul, Assert.Single(_messages.Items).Seq);
    }

    [Fact]
    public async Task DisposeAsync_PendingSendFailsAndSessionClosesNormally()
    {
        var (client, peer) = await ConnectAsync();
        var send = client.SendTextAsync("bob", "x");
        await peer.ExpectAsync(ClientFrame.BodyOneofCase.Send);

        var dispose = client.DisposeAsync().AsTask();
        Assert.Null(await peer.ReceiveAsync());
        await dispose.WaitAsync(ScriptedServer.Timeout);
        Assert.Equal(System.Net.WebSockets.WebSocketCloseStatus.NormalClosure, peer.ClientCloseStatus);
        var error = await Assert.ThrowsAnyAsync<Exception>(() => send.WaitAsync(ScriptedServer.Timeout));
        Assert.True(error is ObjectDisposedException or OperationCanceledException, error.ToString());
        Assert.Equal(ConnectionState.Disconnected, client.State);
    }
}
