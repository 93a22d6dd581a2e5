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

    private sealed class RelayConnection(WebSocket socket)
    {
        private readonly Channel<byte[]> _outbox = Channel.CreateBounded<byte[]>(new BoundedChannelOptions(2048) { SingleReader = true, FullMode = BoundedChannelFullMode.DropWrite });

        public WebSocket Socket { get; } = socket;

        public string? UserId { get; set; }

        public void TryEnqueue(byte[] frame) => _outbox.Writer.TryWrite(frame);

        public void Complete() => _outbox.Writer.TryComplete();

        public async Task RunSendLoopAsync()
        {
            try
            {
                await foreach (var frame in _outbox.Reader.ReadAllAsync().ConfigureAwait(false))
                {
                    await Socket.SendAsync(frame, WebSocketMessageType.Binary, true, CancellationToken.None).ConfigureAwait(false);
                }
            }
            catch (Exception ex) when (ex is WebSocketException or ObjectDisposedException or IOException)
            {
            }
        }
    }
}
