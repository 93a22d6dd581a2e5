using System.Buffers;
using System.Collections.Concurrent;
using System.Net.WebSockets;
using System.Text.Json;
using System.Threading.Channels;
using Google.Protobuf;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Parley.Protocol;
using Parley.Protocol.V1;

namespace Parley.LoadTest;

/// <summary>
/// The raw relay baseline: a minimal Kestrel WebSocket server that forwards frames between connected clients. It speaks
/// the same frames as Parley so the same generator drives both, but has no auth (the token is the user id), no
/// storage, no ordering and no sync. A send is decoded, forwarded once per online recipient (serialised once, bounded
/// outbox per connection like Parley's) and acked at once. It is the transport + codec ceiling of this machine.
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

            using var socket = await ctx.WebSockets.AcceptWebSocketAsync(FrameCodec.SubProtocol).ConfigureAwait(false);
            var connection = new RelayConnection(socket);
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

        public async Task RunSendLoopAsync()
        {
            try
            {
                await foreach (var frame in _outbox.Reader.ReadAllAsync().ConfigureAwait(false))
                {
                    await Socket.SendAsync(frame.Bytes, frame.Text ? WebSocketMessageType.Text : WebSocketMessageType.Binary, true, CancellationToken.None).ConfigureAwait(false);
                }
            }
            catch (Exception ex) when (ex is WebSocketException or ObjectDisposedException or IOException)
            {
            }
        }
    }
}
