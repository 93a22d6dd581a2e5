using System.Collections.Concurrent;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using Google.Protobuf;
using Parley.Compat.OpenIM.Wire;

namespace Parley.Compat.OpenIM.Tests;

/// <summary>One frame the server sent: a text frame, or a binary JSON envelope with its decoded fields.</summary>
internal sealed record OpenImFrame(bool Text, string Json, int ReqIdentifier, string MsgIncr, int ErrCode, string ErrMsg, byte[]? Data);

/// <summary>A raw OpenIM long-connection client (what the JS SDK does on the wire), for edge tests.</summary>
internal sealed class OpenImWsClient : IAsyncDisposable
{
    private readonly ClientWebSocket _socket = new();
    private readonly ConcurrentQueue<OpenImFrame> _frames = new();
    private readonly SemaphoreSlim _sendLock = new(1, 1);
    private Task? _receive;
    private int _incr;

    public string UserId { get; private set; } = string.Empty;

    public IReadOnlyCollection<OpenImFrame> Frames => _frames;

    public WebSocketCloseStatus? CloseStatus { get; private set; }

    public bool Closed { get; private set; }

    public static Uri Address(OpenImTestServer server, string query) =>
        new($"ws://{server.BaseUri.Host}:{server.BaseUri.Port}/openim/ws?{query}");

    public static string Query(string userId, string token, int platformId = 5, string sdkType = "js") =>
        $"sendID={userId}&token={token}&platformID={platformId}&operationID=op-{Guid.NewGuid():N}&isBackground=false&isMsgResp=true&sdkType={sdkType}";

    /// <summary>Connects and returns the handshake result (the first text frame).</summary>
    public static Task<(OpenImWsClient Client, JsonElement Handshake)> ConnectAsync(OpenImTestServer server, string query, string userId = "") =>
        ConnectAsync(Address(server, query), userId);

    /// <summary>Connects to a full address (e.g. a server process of a cluster) and returns the handshake result.</summary>
    public static async Task<(OpenImWsClient Client, JsonElement Handshake)> ConnectAsync(Uri address, string userId)
    {
        var client = new OpenImWsClient { UserId = userId };
        await client._socket.ConnectAsync(address, CancellationToken.None);
        client._receive = client.ReceiveLoopAsync();
        await Wait.UntilAsync(() => client._frames.Any(f => f.Text) || client.Closed, "the handshake result arrived", TimeSpan.FromSeconds(10));
        var first = client._frames.FirstOrDefault(f => f.Text) ?? throw new InvalidOperationException("closed without a handshake result");
        using var doc = JsonDocument.Parse(first.Json);
        return (client, doc.RootElement.Clone());
    }

    public static async Task<OpenImWsClient> LoginAsync(OpenImTestServer server, string userId, string token, int platformId = 5)
    {
        var (client, handshake) = await ConnectAsync(server, Query(userId, token, platformId), userId);
        Assert.Equal(0, handshake.GetProperty("errCode").GetInt32());
        return client;
    }

    /// <summary>
    /// An OpenIM session of <paramref name="userId"/> on a node of a cluster with the edge on (<see cref="ClusterHarness.EnableOpenIm"/>;
    /// platform 5 web, 1 iOS), with a user token from that node's REST edge; disposed with the cluster.
    /// </summary>
    public static async Task<OpenImWsClient> LoginAsync(ClusterHarness cluster, int node, string userId, int platformId = 5)
    {
        var query = Query(userId, await OpenImSocket.UserTokenAsync(cluster[node], cluster.OpenImSecret, userId, platformId), platformId);
        var (client, handshake) = await ConnectAsync(new Uri($"ws://127.0.0.1:{cluster[node].HttpPort}/openim/ws?{query}"), userId);
        cluster.Track(client);
        Assert.Equal(0, handshake.GetProperty("errCode").GetInt32());
        return client;
    }

    public async Task SendRawAsync(byte[] bytes, WebSocketMessageType type)
    {
        await _sendLock.WaitAsync();
        try
        {
            await _socket.SendAsync(bytes, type, true, CancellationToken.None);
        }
        finally
        {
            _sendLock.Release();
        }
    }

    /// <summary>Sends a request envelope and waits for the response with the same msgIncr.</summary>
    public async Task<OpenImFrame> RequestAsync(int reqIdentifier, IMessage? data, string? sendId = null)
    {
        var incr = $"incr-{Interlocked.Increment(ref _incr)}";
        var envelope = JsonSerializer.SerializeToUtf8Bytes(new
        {
            reqIdentifier,
            msgIncr = incr,
            sendID = sendId ?? UserId,
            operationID = "op-" + incr,
            data = data is null ? null : Convert.ToBase64String(data.ToByteArray()),
        });
        await SendRawAsync(envelope, WebSocketMessageType.Binary);
        await Wait.UntilAsync(() => _frames.Any(f => f.MsgIncr == incr) || Closed, $"the answer to request {reqIdentifier}", TimeSpan.FromSeconds(15));
        return _frames.FirstOrDefault(f => f.MsgIncr == incr) ?? throw new InvalidOperationException("the connection closed before the answer");
    }

    public async Task<T> RequestAsync<T>(int reqIdentifier, IMessage data, MessageParser<T> parser)
        where T : IMessage<T>
    {
        var frame = await RequestAsync(reqIdentifier, data);
        Assert.True(frame.ErrCode == 0, $"request {reqIdentifier} failed: {frame.ErrCode} {frame.ErrMsg}");
        return parser.ParseFrom(frame.Data ?? []);
    }

    /// <summary>Every MsgData pushed so far (2001, both maps), with the map it came in.</summary>
    public List<(string ConversationId, bool Notification, MsgData Msg)> Pushed()
    {
        var list = new List<(string, bool, MsgData)>();
        foreach (var frame in _frames.Where(f => !f.Text && f.ReqIdentifier == 2001 && f.Data is not null))
        {
            var push = PushMessages.Parser.ParseFrom(frame.Data);
            foreach (var (id, msgs) in push.Msgs)
            {
                list.AddRange(msgs.Msgs.Select(m => (id, false, m)));
            }

            foreach (var (id, msgs) in push.NotificationMsgs)
            {
                list.AddRange(msgs.Msgs.Select(m => (id, true, m)));
            }
        }

        return list;
    }

    private async Task ReceiveLoopAsync()
    {
        var buffer = new byte[1 << 20];
        try
        {
            while (true)
            {
                var count = 0;
                ValueWebSocketReceiveResult result;
                do
                {
                    result = await _socket.ReceiveAsync(buffer.AsMemory(count), CancellationToken.None);
                    if (result.MessageType == WebSocketMessageType.Close)
                    {
                        CloseStatus = _socket.CloseStatus;
                        return;
                    }

                    count += result.Count;
                }
                while (!result.EndOfMessage);

                var json = Encoding.UTF8.GetString(buffer, 0, count);
                if (result.MessageType == WebSocketMessageType.Text)
                {
                    _frames.Enqueue(new OpenImFrame(true, json, 0, string.Empty, 0, string.Empty, null));
                    continue;
                }

                using var doc = JsonDocument.Parse(json);
                var root = doc.RootElement;
                var data = root.GetProperty("data");
                _frames.Enqueue(new OpenImFrame(
                    false,
                    json,
                    root.GetProperty("reqIdentifier").GetInt32(),
                    root.GetProperty("msgIncr").GetString()!,
                    root.GetProperty("errCode").GetInt32(),
                    root.GetProperty("errMsg").GetString()!,
                    data.ValueKind == JsonValueKind.String ? Convert.FromBase64String(data.GetString()!) : null));
            }
        }
        catch (Exception ex) when (ex is WebSocketException or OperationCanceledException or ObjectDisposedException)
        {
            // Closed.
        }
        finally
        {
            Closed = true;
        }
    }

    /// <summary>A network drop: the TCP connection goes without a WebSocket close frame.</summary>
    public void Abort() => _socket.Abort();

    public async ValueTask DisposeAsync()
    {
        try
        {
            if (_socket.State == WebSocketState.Open)
            {
                using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(2));
                await _socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, "bye", timeout.Token);
            }
        }
        catch (Exception ex) when (ex is WebSocketException or OperationCanceledException)
        {
            // Best effort.
        }

        if (_receive is not null)
        {
            await Task.WhenAny(_receive, Task.Delay(TimeSpan.FromSeconds(3)));
        }

        _socket.Dispose();
        _sendLock.Dispose();
    }
}
