using System.Buffers;
using System.Collections.Concurrent;
using System.Net.WebSockets;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Threading.Channels;
using Google.Protobuf;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Logging;
using Parley.Protocol;
using Parley.Protocol.V1;

namespace Parley.LoadTest;

/// <summary>
/// The raw relay baseline: a minimal Kestrel WebSocket server that forwards frames between connected clients. It speaks
/// the same frames as Parley so the same generator drives both, but has no auth (the token is the user id), no
/// storage, no ordering and no sync. A send is decoded, forwarded once per online recipient (serialised once, bounded
/// outbox per connection like Parley's) and acked at once. Like Parley's native connections, a connection's send loop
/// writes everything its outbox holds as frames in one write below the WebSocket (a group's fan-out queues a frame per
/// message for each member). It is the transport + codec ceiling of this machine.
/// It speaks OpenIM's JS-SDK envelopes too (<see cref="OpenImReceiveLoopAsync"/>, the <c>openim</c> scenario): the same
/// REST bootstrap calls (any secret, the token is the user id), the handshake result, pongs, a 1003 answered and its
/// MsgData pushed as 2001 to the recipient and echoed to the sender (as Parley's edge does), 1006 answered empty.
/// </summary>
internal static class RawRelay
{
    public static async Task<int> RunAsync(string url)
    {
        LoadOptions.RequireLoopback(new Uri(url));
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = [] });
        builder.WebHost.UseUrls(url);
        builder.Logging.ClearProviders();
        var app = builder.Build();
        app.UseWebSockets();
        var users = new ConcurrentDictionary<string, RelayConnection>(StringComparer.Ordinal);
        var groups = new ConcurrentDictionary<string, string[]>(StringComparer.Ordinal);
        app.MapGet("/readyz", () => "ok");
        app.MapGet("/metrics", () => "");
        app.MapPost("/admin/v1/users", () => Results.StatusCode(201));
        app.MapPost("/admin/v1/users/{userId}/tokens", (string userId) => Results.Json(new Dictionary<string, string> { ["token"] = userId }));
        app.MapPost("/admin/v1/groups", async (HttpContext ctx) =>
        {
            using var doc = await JsonDocument.ParseAsync(ctx.Request.Body).ConfigureAwait(false);
            var root = doc.RootElement;
            var members = new List<string> { root.GetProperty("ownerId").GetString()! };
            members.AddRange(root.GetProperty("memberIds").EnumerateArray().Select(e => e.GetString()!));
            groups["sg_" + root.GetProperty("groupId").GetString()] = [.. members];
            return Results.StatusCode(201);
        });
        var openImUsers = new ConcurrentDictionary<string, RelayConnection>(StringComparer.Ordinal);
        app.MapPost("/auth/get_admin_token", () => Results.Json(new { errCode = 0, errMsg = "", errDlt = "", data = new { token = "relay-admin", expireTimeSeconds = 86400 } }));
        app.MapPost("/user/user_register", () => Results.Json(new { errCode = 0, errMsg = "", errDlt = "" }));
        app.MapPost("/auth/get_user_token", async (HttpContext ctx) =>
        {
            using var doc = await JsonDocument.ParseAsync(ctx.Request.Body).ConfigureAwait(false);
            var userId = doc.RootElement.GetProperty("userID").GetString();
            return Results.Json(new { errCode = 0, errMsg = "", errDlt = "", data = new { token = userId, expireTimeSeconds = 86400 } });
        });
        app.Map("/openim/ws", async (HttpContext ctx) =>
        {
            var userId = ctx.Request.Query["sendID"].ToString();
            if (!ctx.WebSockets.IsWebSocketRequest || userId.Length == 0 || ctx.Request.Query["token"] != userId)
            {
                ctx.Response.StatusCode = 400;
                return;
            }

            using var socket = await ctx.WebSockets.AcceptWebSocketAsync().ConfigureAwait(false);
            var connection = new RelayConnection(socket) { UserId = userId };
            openImUsers[userId] = connection;
            var sendLoop = connection.RunSendLoopAsync();
            connection.TryEnqueue("{\"errCode\":0,\"errMsg\":\"\",\"errDlt\":\"\"}"u8.ToArray(), text: true);
            try
            {
                await OpenImReceiveLoopAsync(connection, openImUsers).ConfigureAwait(false);
            }
            finally
            {
                openImUsers.TryRemove(new KeyValuePair<string, RelayConnection>(userId, connection));
                connection.Complete();
                await sendLoop.ConfigureAwait(false);
            }
        });
        app.Map("/ws", async (HttpContext ctx) =>
        {
            if (!ctx.WebSockets.IsWebSocketRequest)
            {
                ctx.Response.StatusCode = 400;
                return;
            }

            // Upgraded by hand, so the send loop can write its outbox's frames to the stream in one write (as Parley's
            // send loop does below its WebSocket); the WebSocket reads, and writes its own control frames, through the
            // same stream, whose writes never interleave.
            var upgrade = ctx.Features.Get<IHttpUpgradeFeature>();
            var key = ctx.Request.Headers.SecWebSocketKey.ToString();
            if (upgrade is not { IsUpgradableRequest: true } || key.Length == 0)
            {
                ctx.Response.StatusCode = 400;
                return;
            }

            ctx.Response.Headers.Connection = "Upgrade";
            ctx.Response.Headers.Upgrade = "websocket";
#pragma warning disable CA5350 // RFC 6455 defines the accept value with SHA-1; it protects nothing
            ctx.Response.Headers.SecWebSocketAccept = Convert.ToBase64String(SHA1.HashData(Encoding.ASCII.GetBytes(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11")));
#pragma warning restore CA5350
            string? subProtocol = null;
            if (ctx.Request.Headers.SecWebSocketProtocol.ToString().Split(',', StringSplitOptions.TrimEntries).Contains(FrameCodec.SubProtocol))
            {
                subProtocol = FrameCodec.SubProtocol;
                ctx.Response.Headers.SecWebSocketProtocol = subProtocol;
            }

            var stream = new SerialWriteStream(await upgrade.UpgradeAsync().ConfigureAwait(false));
            using var socket = WebSocket.CreateFromStream(stream, new WebSocketCreationOptions { IsServer = true, SubProtocol = subProtocol, KeepAliveInterval = TimeSpan.Zero });
            var connection = new RelayConnection(socket) { Frames = stream };
            var sendLoop = connection.RunSendLoopAsync();
            try
            {
                await ReceiveLoopAsync(connection, users, groups).ConfigureAwait(false);
            }
            finally
            {
                if (connection.UserId is { } id)
                {
                    users.TryRemove(new KeyValuePair<string, RelayConnection>(id, connection));
                }

                connection.Complete();
                await sendLoop.ConfigureAwait(false);
            }
        });
        await app.RunAsync().ConfigureAwait(false);
        return 0;
    }

    private static async Task ReceiveLoopAsync(RelayConnection c, ConcurrentDictionary<string, RelayConnection> users, ConcurrentDictionary<string, string[]> groups)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(64 * 1024);
        try
        {
            while (true)
            {
                var length = 0;
                ValueWebSocketReceiveResult r;
                do
                {
                    r = await c.Socket.ReceiveAsync(buffer.AsMemory(length), CancellationToken.None).ConfigureAwait(false);
                    length += r.Count;
                    if (r.MessageType == WebSocketMessageType.Close || (length == buffer.Length && !r.EndOfMessage))
                    {
                        return;
                    }
                }
                while (!r.EndOfMessage);

                if (!FrameCodec.TryDecodeClient(buffer.AsSpan(0, length), out var frame))
                {
                    continue;
                }

                switch (frame.BodyCase)
                {
                    case ClientFrame.BodyOneofCase.Hello:
                        c.UserId = frame.Hello.Token;
                        users[c.UserId] = c;
                        c.TryEnqueue(new ServerFrame { RequestId = frame.RequestId, HelloOk = new HelloOk { UserId = c.UserId } }.ToByteArray());
                        c.TryEnqueue(new ServerFrame { SyncComplete = new SyncComplete() }.ToByteArray());
                        break;
                    case ClientFrame.BodyOneofCase.Ping:
                        c.TryEnqueue(new ServerFrame { RequestId = frame.RequestId, Pong = new Pong() }.ToByteArray());
                        break;
                    case ClientFrame.BodyOneofCase.Send when c.UserId is not null:
                        Forward(c, frame, users, groups);
                        break;
                }
            }
        }
        catch (Exception ex) when (ex is WebSocketException or OperationCanceledException or IOException)
        {
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private static void Forward(RelayConnection c, ClientFrame frame, ConcurrentDictionary<string, RelayConnection> users, ConcurrentDictionary<string, string[]> groups)
    {
        var send = frame.Send;
        var conversation = send.Target.KindCase == Target.KindOneofCase.UserId ? send.Target.UserId : send.Target.ConversationId;
        var message = new ServerFrame
        {
            Message = new Message { ConversationId = conversation, SenderId = c.UserId, ClientMsgId = send.ClientMsgId, Content = send.Content },
        }.ToByteArray();
        if (send.Target.KindCase == Target.KindOneofCase.UserId)
        {
            if (users.TryGetValue(send.Target.UserId, out var peer))
            {
                peer.TryEnqueue(message);
            }
        }
        else if (groups.TryGetValue(conversation, out var members))
        {
            foreach (var member in members)
            {
                if (member != c.UserId && users.TryGetValue(member, out var peer))
                {
                    peer.TryEnqueue(message);
                }
            }
        }

        c.TryEnqueue(new ServerFrame { RequestId = frame.RequestId, SendAck = new SendAck { ConversationId = conversation } }.ToByteArray());
    }

    private static readonly byte[] OpenImPong = "{\"type\":\"pong\",\"body\":null}"u8.ToArray();

    private static async Task OpenImReceiveLoopAsync(RelayConnection c, ConcurrentDictionary<string, RelayConnection> users)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(64 * 1024);
        try
        {
            while (true)
            {
                var length = 0;
                ValueWebSocketReceiveResult r;
                do
                {
                    r = await c.Socket.ReceiveAsync(buffer.AsMemory(length), CancellationToken.None).ConfigureAwait(false);
                    length += r.Count;
                    if (r.MessageType == WebSocketMessageType.Close || (length == buffer.Length && !r.EndOfMessage))
                    {
                        return;
                    }
                }
                while (!r.EndOfMessage);

                if (r.MessageType == WebSocketMessageType.Text)
                {
                    c.TryEnqueue(OpenImPong, text: true);
                    continue;
                }

                OpenImRequest(c, buffer.AsSpan(0, length), users);
            }
        }
        catch (Exception ex) when (ex is WebSocketException or OperationCanceledException or IOException or JsonException or InvalidProtocolBufferException or FormatException or InvalidOperationException)
        {
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private static void OpenImRequest(RelayConnection c, ReadOnlySpan<byte> json, ConcurrentDictionary<string, RelayConnection> users)
    {
        var reader = new Utf8JsonReader(json);
        reader.Read();
        var reqIdentifier = 0;
        string msgIncr = string.Empty, operationId = string.Empty;
        byte[] data = [];
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            var name = reader.GetString();
            reader.Read();
            switch (name)
            {
                case "reqIdentifier":
                    reqIdentifier = reader.GetInt32();
                    break;
                case "msgIncr":
                    msgIncr = reader.GetString() ?? string.Empty;
                    break;
                case "operationID":
                    operationId = reader.GetString() ?? string.Empty;
                    break;
                case "data" when reader.TokenType == JsonTokenType.String:
                    data = reader.GetBytesFromBase64();
                    break;
                default:
                    reader.Skip();
                    break;
            }
        }

        switch (reqIdentifier)
        {
            case OpenImConnection.SendMsg:
                var message = Parley.Compat.OpenIM.Wire.MsgData.Parser.ParseFrom(data);
                var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
                message.ServerMsgID = message.ClientMsgID;
                message.SendTime = now;
                message.Status = 2;
                var a = string.CompareOrdinal(c.UserId, message.RecvID) <= 0 ? c.UserId : message.RecvID;
                var b = ReferenceEquals(a, c.UserId) ? message.RecvID : c.UserId;
                var push = new Parley.Compat.OpenIM.Wire.PushMessages();
                push.Msgs["si_" + a + "_" + b] = new Parley.Compat.OpenIM.Wire.PullMsgs { Msgs = { message } };
                var pushData = push.ToByteArray();
                if (users.TryGetValue(message.RecvID, out var peer))
                {
                    // The recipient's push has an operationID of its own (Parley's edge: a new id per push) ...
                    peer.TryEnqueue(OpenImResponse(OpenImConnection.PushMsg, string.Empty, "relay-" + msgIncr, pushData));
                }

                c.TryEnqueue(OpenImResponse(reqIdentifier, msgIncr, operationId, new Parley.Compat.OpenIM.Wire.SendMsgResp { ServerMsgID = message.ServerMsgID, ClientMsgID = message.ClientMsgID, SendTime = now }.ToByteArray()));
                // ... the sender's echo carries the send's, as OpenIM's sender sync does.
                c.TryEnqueue(OpenImResponse(OpenImConnection.PushMsg, string.Empty, operationId, pushData));
                break;
            case OpenImConnection.GetConvMaxReadSeq:
                c.TryEnqueue(OpenImResponse(reqIdentifier, msgIncr, operationId, new Parley.Compat.OpenIM.Wire.GetConversationsHasReadAndMaxSeqResp().ToByteArray()));
                break;
        }
    }

    private static byte[] OpenImResponse(int reqIdentifier, string msgIncr, string operationId, byte[] data)
    {
        var buffer = new ArrayBufferWriter<byte>(256);
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            writer.WriteNumber("reqIdentifier", reqIdentifier);
            writer.WriteString("msgIncr", msgIncr);
            writer.WriteString("operationID", operationId);
            writer.WriteNumber("errCode", 0);
            writer.WriteString("errMsg", string.Empty);
            writer.WriteBase64String("data", data);
            writer.WriteEndObject();
        }

        return buffer.WrittenSpan.ToArray();
    }

    private sealed class RelayConnection(WebSocket socket)
    {
        private readonly Channel<(byte[] Bytes, bool Text)> _outbox = Channel.CreateBounded<(byte[] Bytes, bool Text)>(new BoundedChannelOptions(2048) { SingleReader = true, FullMode = BoundedChannelFullMode.DropWrite });

        public WebSocket Socket { get; } = socket;

        public string? UserId { get; set; }

        public void TryEnqueue(byte[] frame, bool text = false) => _outbox.Writer.TryWrite((frame, text));

        public void Complete() => _outbox.Writer.TryComplete();

        /// <summary>The upgraded stream below <see cref="Socket"/>: frames are written to it in batches (null: one WebSocket send each).</summary>
        public SerialWriteStream? Frames { get; init; }

        public async Task RunSendLoopAsync()
        {
            var reader = _outbox.Reader;
            var buffer = Frames is null ? [] : ArrayPool<byte>.Shared.Rent(64 * 1024);
            try
            {
                while (await reader.WaitToReadAsync().ConfigureAwait(false))
                {
                    if (Frames is null)
                    {
                        while (reader.TryRead(out var frame))
                        {
                            await Socket.SendAsync(frame.Bytes, frame.Text ? WebSocketMessageType.Text : WebSocketMessageType.Binary, true, CancellationToken.None).ConfigureAwait(false);
                        }

                        continue;
                    }

                    // Everything queued, as whole unmasked frames, in one write per 64 KB (a group's fan-out queues a frame
                    // per message for every member: Parley's send loop writes them the same way).
                    var length = 0;
                    while (reader.TryRead(out var frame))
                    {
                        var need = frame.Bytes.Length + 10;
                        if (length > 0 && length + need > buffer.Length)
                        {
                            await Frames.WriteAsync(buffer.AsMemory(0, length)).ConfigureAwait(false);
                            length = 0;
                        }

                        if (need > buffer.Length)
                        {
                            ArrayPool<byte>.Shared.Return(buffer);
                            buffer = ArrayPool<byte>.Shared.Rent(need);
                        }

                        length += WriteFrame(buffer.AsSpan(length), frame.Bytes, frame.Text);
                    }

                    if (length > 0)
                    {
                        await Frames.WriteAsync(buffer.AsMemory(0, length)).ConfigureAwait(false);
                    }
                }
            }
            catch (Exception ex) when (ex is WebSocketException or ObjectDisposedException or IOException or OperationCanceledException)
            {
            }
            finally
            {
                if (buffer.Length > 0)
                {
                    ArrayPool<byte>.Shared.Return(buffer);
                }
            }
        }

        // One final unmasked server frame (RFC 6455 §5.2): FIN and the opcode, the 7-bit, 16-bit or 64-bit length, the payload.
        private static int WriteFrame(Span<byte> destination, ReadOnlySpan<byte> payload, bool text)
        {
            destination[0] = (byte)(0x80 | (text ? 0x1 : 0x2));
            int header;
            if (payload.Length < 126)
            {
                destination[1] = (byte)payload.Length;
                header = 2;
            }
            else if (payload.Length <= ushort.MaxValue)
            {
                destination[1] = 126;
                System.Buffers.Binary.BinaryPrimitives.WriteUInt16BigEndian(destination[2..], (ushort)payload.Length);
                header = 4;
            }
            else
            {
                destination[1] = 127;
                System.Buffers.Binary.BinaryPrimitives.WriteUInt64BigEndian(destination[2..], (ulong)payload.Length);
                header = 10;
            }

            payload.CopyTo(destination[header..]);
            return header + payload.Length;
        }
    }

    /// <summary>
    /// An upgraded connection's stream whose writes are serialised: the relay's send loop writes batches of frames to it and
    /// the WebSocket reading from it writes its own control frames (a pong, its close), never inside a batch.
    /// </summary>
    private sealed class SerialWriteStream(Stream inner) : Stream
    {
        private readonly SemaphoreSlim _write = new(1, 1);

        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => true;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) => inner.ReadAsync(buffer, cancellationToken);

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) => inner.ReadAsync(buffer, offset, count, cancellationToken);

        public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
        {
            await _write.WaitAsync(cancellationToken).ConfigureAwait(false);
            try
            {
                await inner.WriteAsync(buffer, cancellationToken).ConfigureAwait(false);
                await inner.FlushAsync(cancellationToken).ConfigureAwait(false);
            }
            finally
            {
                _write.Release();
            }
        }

        public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

        public override Task FlushAsync(CancellationToken cancellationToken) => Task.CompletedTask; // every write is flushed

        public override void Flush()
        {
        }

        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                inner.Dispose();
            }

            base.Dispose(disposing);
        }
    }
}
