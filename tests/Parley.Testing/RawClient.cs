using System.Net.WebSockets;
using Google.Protobuf;
using Parley.Protocol;
using Parley.Protocol.V1;

namespace Parley.Testing;

/// <summary>A bare WebSocket speaking (or deliberately mis-speaking) the protocol, for robustness tests.</summary>
public sealed class RawClient : IAsyncDisposable
{
    private readonly ClientWebSocket _socket = new();

    public WebSocket Socket => _socket;

    public static async Task<RawClient> ConnectAsync(Uri uri)
    {
        var client = new RawClient();
        client._socket.Options.AddSubProtocol(FrameCodec.SubProtocol);
        await client._socket.ConnectAsync(uri, CancellationToken.None);
        return client;
    }

    public Task SendBytesAsync(byte[] bytes, WebSocketMessageType type = WebSocketMessageType.Binary) =>
        _socket.SendAsync(bytes, type, true, CancellationToken.None);

    public Task SendAsync(ClientFrame frame) => SendBytesAsync(frame.ToByteArray());

    public async Task<HelloOk> HelloAsync(string token, string deviceId, Platform platform = Platform.Linux)
    {
        await SendAsync(new ClientFrame { RequestId = 1, Hello = new Hello { Token = token, DeviceId = deviceId, Platform = platform } });
        var first = await ReceiveAsync();
        Assert.NotNull(first);
        Assert.Equal(ServerFrame.BodyOneofCase.HelloOk, first.BodyCase);
        while (true)
        {
            var next = await ReceiveAsync();
            Assert.NotNull(next);
            if (next.BodyCase == ServerFrame.BodyOneofCase.SyncComplete)
            {
                return first.HelloOk;
            }
        }
    }

    /// <summary>The next frame, or null once the server closed (see <see cref="CloseStatus"/>).</summary>
    public async Task<ServerFrame?> ReceiveAsync(TimeSpan? timeout = null)
    {
        using var cts = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(15));
        var buffer = new byte[1 << 20];
        var count = 0;
        while (true)
        {
            var result = await _socket.ReceiveAsync(buffer.AsMemory(count), cts.Token);
            if (result.MessageType == WebSocketMessageType.Close)
            {
                return null;
            }

            count += result.Count;
            if (result.EndOfMessage)
            {
                Assert.True(FrameCodec.TryDecodeServer(buffer.AsSpan(0, count), out var frame), "the server sent a frame the codec cannot decode");
                return frame;
            }
        }
    }

    /// <summary>Reads until the server closes; returns the close status.</summary>
    public async Task<int?> ReceiveCloseAsync(TimeSpan? timeout = null)
    {
        try
        {
            while (await ReceiveAsync(timeout) is not null)
            {
            }
        }
        catch (WebSocketException)
        {
            // Aborted without a close frame.
        }

        return (int?)_socket.CloseStatus;
    }

    public int? CloseStatus => (int?)_socket.CloseStatus;

    public async ValueTask DisposeAsync()
    {
        try
        {
            if (_socket.State == WebSocketState.Open)
            {
                using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(2));
                await _socket.CloseAsync(WebSocketCloseStatus.NormalClosure, "done", cts.Token);
            }
        }
        catch (Exception ex) when (ex is WebSocketException or OperationCanceledException)
        {
            // Best effort.
        }

        _socket.Dispose();
    }
}
