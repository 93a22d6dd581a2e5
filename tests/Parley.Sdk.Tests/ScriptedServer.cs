using System.Buffers;
using System.Net.WebSockets;
using System.Threading.Channels;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Parley.Protocol;
using Parley.Protocol.V1;

namespace Parley.Sdk.Tests;

/// <summary>A real WebSocket server on loopback whose test code plays the Parley server, frame by frame.</summary>
public sealed class ScriptedServer : IAsyncDisposable
{
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);

    private readonly WebApplication _app;
    private readonly Channel<PeerConnection> _connections = Channel.CreateUnbounded<PeerConnection>();
    private readonly System.Collections.Concurrent.ConcurrentBag<PeerConnection> _all = [];

    private ScriptedServer(WebApplication app) => _app = app;

    public Uri Uri { get; private set; } = null!;

    public int ConnectionCount { get; private set; }

    public static async Task<ScriptedServer> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        var server = new ScriptedServer(app);
        app.UseWebSockets();
        app.Map("/ws", async context =>
        {
            if (!context.WebSockets.IsWebSocketRequest || !context.WebSockets.WebSocketRequestedProtocols.Contains(FrameCodec.SubProtocol))
            {
                context.Response.StatusCode = StatusCodes.Status400BadRequest;
                return;
            }

            using var socket = await context.WebSockets.AcceptWebSocketAsync(FrameCodec.SubProtocol);
            var peer = new PeerConnection(socket);
            server.ConnectionCount++;
            server._all.Add(peer);
            await server._connections.Writer.WriteAsync(peer);
            await peer.Finished;
        });
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        server.Uri = new Uri(address.Replace("http://", "ws://", StringComparison.Ordinal) + "/ws");
        return server;
    }

    /// <summary>Waits for the next client connection.</summary>
    public async Task<PeerConnection> AcceptAsync(string? because = null)
    {
        try
        {
            return await _connections.Reader.ReadAsync().AsTask().WaitAsync(Timeout);
        }
        catch (TimeoutException)
        {
            throw new TimeoutException($"No client connected within {Timeout}{(because is null ? "" : ": " + because)}.");
        }
    }

    /// <summary>True if a connection arrives within <paramref name="window"/> (used to prove none does).</summary>
    public async Task<bool> ConnectsWithinAsync(TimeSpan window)
    {
        using var cts = new CancellationTokenSource(window);
        try
        {
            await _connections.Reader.WaitToReadAsync(cts.Token);
            return true;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    /// <summary>Accepts a connection, expects Hello, answers HelloOk and a sync with the given batches.</summary>
    public async Task<(PeerConnection Peer, Hello Hello)> AcceptSessionAsync(ulong cursor = 0, uint heartbeatMs = 0, params ConversationSync[] sync)
    {
        var peer = await AcceptAsync();
        var hello = await peer.ExpectHelloAsync();
        await peer.SendHelloOkAsync(heartbeatMs);
        if (sync.Length > 0)
        {
            var batch = new SyncBatch();
            batch.Conversations.AddRange(sync);
            await peer.SendAsync(new ServerFrame { SyncBatch = batch });
        }

        await peer.SendAsync(new ServerFrame { SyncComplete = new SyncComplete { Cursor = cursor, Conversations = (uint)sync.Length } });
        return (peer, hello);
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var peer in _all)
        {
            peer.Abort();
        }

        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(1));
        await _app.StopAsync(stop.Token);
        await _app.DisposeAsync();
    }
}

/// <summary>The server end of one client connection.</summary>
public sealed class PeerConnection
{
    private readonly WebSocket _socket;
    private readonly TaskCompletionSource _finished = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly ArrayBufferWriter<byte> _buffer = new();

    public PeerConnection(WebSocket socket) => _socket = socket;

    public Task Finished => _finished.Task;

    public WebSocketCloseStatus? ClientCloseStatus { get; private set; }

    /// <summary>Next client frame; null if the client closed.</summary>
    public async Task<ClientFrame?> ReceiveAsync()
    {
        using var cts = new CancellationTokenSource(ScriptedServer.Timeout);
        _buffer.ResetWrittenCount();
        while (true)
        {
            ValueWebSocketReceiveResult result;
            try
            {
                result = await _socket.ReceiveAsync(_buffer.GetMemory(8192), cts.Token);
            }
            catch (OperationCanceledException)
            {
                throw new TimeoutException($"No client frame within {ScriptedServer.Timeout}.");
            }
            catch (WebSocketException)
            {
                _finished.TrySetResult();
                return null;
            }

            if (result.MessageType == WebSocketMessageType.Close)
            {
                ClientCloseStatus = _socket.CloseStatus;
                try
                {
                    await _socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, null, CancellationToken.None);
                }
                catch (WebSocketException)
                {
                }

                _finished.TrySetResult();
                return null;
            }

            _buffer.Advance(result.Count);
            if (result.EndOfMessage)
            {
                Assert.Equal(WebSocketMessageType.Binary, result.MessageType);
                Assert.True(FrameCodec.TryDecodeClient(_buffer.WrittenSpan, out var frame), "malformed client frame");
                return frame;
            }
        }
    }

    /// <summary>Next client frame with body <paramref name="body"/>, skipping others (e.g. Pings).</summary>
    public async Task<ClientFrame> ExpectAsync(ClientFrame.BodyOneofCase body)
    {
        while (true)
        {
            var frame = await ReceiveAsync() ?? throw new InvalidOperationException($"Client closed while the test expected {body}.");
            if (frame.BodyCase == body)
            {
                return frame;
            }

            if (frame.BodyCase == ClientFrame.BodyOneofCase.Ping)
            {
                await SendAsync(new ServerFrame { RequestId = frame.RequestId, Pong = new Pong { ServerTime = 1 } });
                continue;
            }

            throw new InvalidOperationException($"Expected {body}, got {frame.BodyCase}.");
        }
    }

    public async Task<Hello> ExpectHelloAsync()
    {
        var frame = await ExpectAsync(ClientFrame.BodyOneofCase.Hello);
        Assert.Equal(1u, frame.RequestId);
        return frame.Hello;
    }

    public Task SendHelloOkAsync(uint heartbeatMs = 0) =>
        SendAsync(new ServerFrame { RequestId = 1, HelloOk = new HelloOk { UserId = "alice", SessionId = "s1", HeartbeatIntervalMs = heartbeatMs, IdleTimeoutMs = 60_000 } });

    public async Task SendAsync(ServerFrame frame)
    {
        try
        {
            await _socket.SendAsync(FrameCodec.Encode(frame), WebSocketMessageType.Binary, true, CancellationToken.None);
        }
        catch (WebSocketException)
        {
            _finished.TrySetResult();
        }
    }

    public async Task CloseAsync(int code, string reason = "")
    {
        try
        {
            await _socket.CloseOutputAsync((WebSocketCloseStatus)code, reason, CancellationToken.None);
            // Drain until the client answers the close.
            while (await ReceiveAsync() is not null)
            {
            }
        }
        catch (WebSocketException)
        {
        }
        catch (TimeoutException)
        {
        }
        finally
        {
            _finished.TrySetResult();
        }
    }

    public void Abort()
    {
        _socket.Abort();
        _finished.TrySetResult();
    }
}

/// <summary>Frame builders.</summary>
public static class Frames
{
    public static Message Text(string conversationId, ulong seq, ulong version = 0, string text = "hi") => new()
    {
        ConversationId = conversationId,
        Seq = seq,
        ServerMsgId = $"m{seq}",
        ClientMsgId = $"c{seq}",
        SenderId = "bob",
        ServerTime = 1,
        Version = version,
        Content = new Content { Text = new TextContent { Text = text } },
    };

    public static ConversationSync Sync(string conversationId, bool truncated, params Message[] messages)
    {
        var sync = new ConversationSync { Conversation = new Conversation { ConversationId = conversationId, Kind = ConversationKind.Direct }, Truncated = truncated };
        sync.Messages.AddRange(messages);
        return sync;
    }
}
