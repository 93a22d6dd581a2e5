using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Net.WebSockets;
using System.Text;
using Google.Protobuf;
using Parley.Protocol;
using Parley.Protocol.V1;

namespace Parley.IntegrationTests;

/// <summary>
/// ADR 0020: a plain <c>GET /ws</c> upgrade is answered below Kestrel's HTTP layer; every other upgrade still goes through
/// the HTTP endpoint exactly as before. The HTTP layer's 101 carries a Date header, the direct one does not: that tells
/// the tests which path answered.
/// </summary>
public sealed class DirectUpgradeTests
{
    // RFC 6455 §1.3's example key and its accept value.
    private const string Key = "dGhlIHNhbXBsZSBub25jZQ==";
    private const string Accept = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=";

    private static string Request(int port, string target = "/ws", string? extra = null) =>
        $"GET {target} HTTP/1.1\r\nHost: 127.0.0.1:{port.ToString(CultureInfo.InvariantCulture)}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        + $"Sec-WebSocket-Key: {Key}\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: {FrameCodec.SubProtocol}\r\n{extra}\r\n";

    [Fact]
    public async Task PlainUpgrade_IsAnsweredDirectly_AndTheSessionWorks()
    {
        await using var server = await TestServer.StartAsync();
        var user = await server.CreateUserAsync("du");
        var token = await server.IssueTokenAsync(user, "d1");

        // Header names in any case, Connection as a list, extra headers, and the head arriving in two pieces.
        var head = Request(server.BaseUri.Port, extra: "origin: http://example.test\r\nUser-Agent: test\r\n").Replace("Connection: Upgrade", "connection: keep-alive, Upgrade", StringComparison.Ordinal);
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(IPAddress.Loopback, server.BaseUri.Port);
        var stream = tcp.GetStream();
        var bytes = Encoding.ASCII.GetBytes(head);
        await stream.WriteAsync(bytes.AsMemory(0, 40));
        await stream.FlushAsync();
        await Task.Delay(50); // not a synchronisation: only makes the first read see part of the head
        await stream.WriteAsync(bytes.AsMemory(40));
        var response = await ReadHeadAsync(stream);

        Assert.StartsWith("HTTP/1.1 101 ", response, StringComparison.Ordinal);
        Assert.Contains($"\r\nSec-WebSocket-Accept: {Accept}\r\n", response, StringComparison.Ordinal);
        Assert.Contains($"\r\nSec-WebSocket-Protocol: {FrameCodec.SubProtocol}\r\n", response, StringComparison.Ordinal);
        Assert.DoesNotContain("\r\nDate:", response, StringComparison.OrdinalIgnoreCase);

        using var socket = WebSocket.CreateFromStream(stream, new WebSocketCreationOptions { IsServer = false, SubProtocol = FrameCodec.SubProtocol });
        var ok = await HelloAsync(socket, token, "d1");
        Assert.Equal(user, ok.UserId);

        // The session is a normal one: it is registered and answers requests, and a bad frame is answered, not fatal.
        await socket.SendAsync(new byte[] { 0xff, 0xff, 0xff }, WebSocketMessageType.Binary, true, CancellationToken.None);
        var error = await ReceiveAsync(socket);
        Assert.Equal(ServerFrame.BodyOneofCase.Error, error!.BodyCase);

        // A force logout finds it in the registry: it is kicked and closed with the token-invalid code.
        var logout = await server.Admin.PostAsync($"/admin/v1/users/{user}/logout", new StringContent("{}", Encoding.UTF8, "application/json"));
        Assert.Contains("\"closedConnections\":1", await logout.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(ServerFrame.BodyOneofCase.Kick, (await ReceiveAsync(socket))?.BodyCase);
        Assert.Null(await ReceiveAsync(socket));
        Assert.Equal(CloseCodes.TokenInvalid, (int?)socket.CloseStatus);
    }

    [Theory]
    [InlineData("/ws?v=1", null, "101")] // a query string: the HTTP endpoint
    [InlineData("/ws", "Sec-WebSocket-Key: AAAAAAAAAAAAAAAAAAAAAA==\r\n", "400")] // two keys: the HTTP layer refuses it as before
    [InlineData("/ws", "Content-Length: 0\r\n", null)] // a body header: whatever the HTTP layer answers, it answers it
    public async Task UnusualUpgrade_GoesThroughHttp(string target, string? extra, string? status)
    {
        await using var server = await TestServer.StartAsync();
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(IPAddress.Loopback, server.BaseUri.Port);
        var stream = tcp.GetStream();
        await stream.WriteAsync(Encoding.ASCII.GetBytes(Request(server.BaseUri.Port, target, extra)));
        var response = await ReadHeadAsync(stream);

        Assert.Contains("\r\nDate:", response, StringComparison.OrdinalIgnoreCase);
        if (status is not null)
        {
            Assert.StartsWith($"HTTP/1.1 {status} ", response, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task QueryStringUpgrade_ThroughHttp_StillRunsASession()
    {
        await using var server = await TestServer.StartAsync();
        var user = await server.CreateUserAsync("du");
        var token = await server.IssueTokenAsync(user, "d1");
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(IPAddress.Loopback, server.BaseUri.Port);
        var stream = tcp.GetStream();
        await stream.WriteAsync(Encoding.ASCII.GetBytes(Request(server.BaseUri.Port, "/ws?v=1")));
        var response = await ReadHeadAsync(stream);
        Assert.StartsWith("HTTP/1.1 101 ", response, StringComparison.Ordinal);
        Assert.Contains($"\r\nSec-WebSocket-Accept: {Accept}\r\n", response, StringComparison.Ordinal);

        using var socket = WebSocket.CreateFromStream(stream, new WebSocketCreationOptions { IsServer = false, SubProtocol = FrameCodec.SubProtocol });
        Assert.Equal(user, (await HelloAsync(socket, token, "d1")).UserId);
    }

    [Fact]
    public async Task DirectUpgradeOff_EveryUpgradeGoesThroughHttp()
    {
        await using var server = await TestServer.StartAsync(new Dictionary<string, string?> { ["Parley:Gateway:DirectUpgrade"] = "false" });
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(IPAddress.Loopback, server.BaseUri.Port);
        var stream = tcp.GetStream();
        await stream.WriteAsync(Encoding.ASCII.GetBytes(Request(server.BaseUri.Port)));
        var response = await ReadHeadAsync(stream);
        Assert.StartsWith("HTTP/1.1 101 ", response, StringComparison.Ordinal);
        Assert.Contains("\r\nDate:", response, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task ListenersWithoutWs_AreNotUpgraded()
    {
        int apiPort = TestServer.FreePort(), wsPort = TestServer.FreePort(), managementPort = TestServer.FreePort();
        await using var server = await TestServer.StartAsync(new Dictionary<string, string?>
        {
            ["Parley:OpenIM:Enabled"] = "true",
            ["Parley:OpenIM:Secret"] = Convert.ToHexString(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32)),
            ["Parley:OpenIM:ApiPort"] = apiPort.ToString(CultureInfo.InvariantCulture),
            ["Parley:OpenIM:WsPort"] = wsPort.ToString(CultureInfo.InvariantCulture),
            ["Parley:Management:Urls"] = $"http://127.0.0.1:{managementPort.ToString(CultureInfo.InvariantCulture)}",
        });
        foreach (var port in new[] { apiPort, wsPort, managementPort })
        {
            using var tcp = new TcpClient();
            await tcp.ConnectAsync(IPAddress.Loopback, port);
            var stream = tcp.GetStream();
            await stream.WriteAsync(Encoding.ASCII.GetBytes(Request(port)));
            Assert.StartsWith("HTTP/1.1 404 ", await ReadHeadAsync(stream), StringComparison.Ordinal);
        }

        // The main listener still upgrades directly.
        using var main = new TcpClient();
        await main.ConnectAsync(IPAddress.Loopback, server.BaseUri.Port);
        var mainStream = main.GetStream();
        await mainStream.WriteAsync(Encoding.ASCII.GetBytes(Request(server.BaseUri.Port)));
        var response = await ReadHeadAsync(mainStream);
        Assert.StartsWith("HTTP/1.1 101 ", response, StringComparison.Ordinal);
        Assert.DoesNotContain("\r\nDate:", response, StringComparison.OrdinalIgnoreCase);
    }

    /// <summary>
    /// Issue 17: a directly upgraded connection's send loop writes what its outbox holds as whole frames below the WebSocket,
    /// several per flush. Frames queued while the client reads nothing (live messages of sizes either side of the 7-bit
    /// frame length, with WebSocket pings between them that the server's WebSocket answers through the same transport),
    /// and a resume's sync frame of over 64 KiB (the 64-bit length), arrive whole and in order.
    /// </summary>
    [Fact]
    public async Task DirectSession_FramesWrittenInBatches_ArriveWholeAndInOrder()
    {
        await using var server = await TestServer.StartAsync();
        var sender = await server.CreateUserAsync("fs");
        var receiver = await server.CreateUserAsync("fr");
        var token = await server.IssueTokenAsync(receiver, "d1");
        var client = await server.ConnectAsync(sender);
        var (tcp, stream) = await UpgradeAsync(server.BaseUri.Port);
        using var _ = tcp;
        using var socket = WebSocket.CreateFromStream(stream, new WebSocketCreationOptions { IsServer = false, SubProtocol = FrameCodec.SubProtocol });
        await HelloAsync(socket, token, "d1");

        // Text lengths that put the frames below and above 125 bytes (the frame adds the message's ids and stamps).
        int[] sizes = [1, 8, 40, 90, 120, 200, 1000, 15_000, 3, 15_000, 15_000, 15_000, 15_000, 15_000, 15_000, 2];
        var texts = sizes.Select((size, i) => $"m{i:D2}-" + new string((char)('a' + (i % 26)), size)).ToArray();
        for (var i = 0; i < texts.Length; i++)
        {
            await client.SendTextAsync(receiver, texts[i]);
            await stream.WriteAsync(MaskedPing(i)); // the server's WebSocket answers it (a pong) between the queued frames
        }

        var received = new List<string>();
        while (received.Count < texts.Length)
        {
            var frame = await ReceiveAsync(socket);
            Assert.NotNull(frame);
            if (frame.BodyCase == ServerFrame.BodyOneofCase.Message)
            {
                received.Add(frame.Message.Content.Text.Text);
            }
        }

        Assert.Equal(texts, received);

        // A resume from 0 on a second direct session: the conversation's messages in one SyncBatch frame of over 64 KiB.
        var (tcp2, stream2) = await UpgradeAsync(server.BaseUri.Port);
        using var __ = tcp2;
        using var socket2 = WebSocket.CreateFromStream(stream2, new WebSocketCreationOptions { IsServer = false, SubProtocol = FrameCodec.SubProtocol });
        var token2 = await server.IssueTokenAsync(receiver, "d2");
        var hello = new ClientFrame { RequestId = 1, Hello = new Hello { Token = token2, DeviceId = "d2", Platform = Platform.Linux } };
        await socket2.SendAsync(hello.ToByteArray(), WebSocketMessageType.Binary, true, CancellationToken.None);
        var synced = new List<string>();
        var largest = 0;
        while (await ReceiveAsync(socket2) is { } frame && frame.BodyCase != ServerFrame.BodyOneofCase.SyncComplete)
        {
            if (frame.BodyCase == ServerFrame.BodyOneofCase.SyncBatch)
            {
                largest = Math.Max(largest, frame.CalculateSize());
                synced.AddRange(frame.SyncBatch.Conversations.SelectMany(c => c.Messages).OrderBy(m => m.Seq).Select(m => m.Content.Text.Text));
            }
        }

        Assert.True(largest > ushort.MaxValue, $"largest sync frame {largest} bytes");
        Assert.Equal(texts, synced);
    }

    private static async Task<(TcpClient Tcp, NetworkStream Stream)> UpgradeAsync(int port)
    {
        var tcp = new TcpClient();
        await tcp.ConnectAsync(IPAddress.Loopback, port);
        var stream = tcp.GetStream();
        await stream.WriteAsync(Encoding.ASCII.GetBytes(Request(port)));
        var response = await ReadHeadAsync(stream);
        Assert.StartsWith("HTTP/1.1 101 ", response, StringComparison.Ordinal);
        Assert.DoesNotContain("\r\nDate:", response, StringComparison.OrdinalIgnoreCase); // answered directly
        return (tcp, stream);
    }

    // A client's Ping control frame (RFC 6455 §5.5.2), masked as every client frame must be.
    private static byte[] MaskedPing(int n)
    {
        var payload = Encoding.ASCII.GetBytes($"ping{n}");
        byte[] mask = [0x12, 0x34, 0x56, 0x78];
        var frame = new byte[6 + payload.Length];
        frame[0] = 0x89;
        frame[1] = (byte)(0x80 | payload.Length);
        mask.CopyTo(frame, 2);
        for (var i = 0; i < payload.Length; i++)
        {
            frame[6 + i] = (byte)(payload[i] ^ mask[i % 4]);
        }

        return frame;
    }

    // Reads the response head byte by byte, so nothing after it (the first WebSocket frame) is taken from the stream.
    private static async Task<string> ReadHeadAsync(NetworkStream stream)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var head = new StringBuilder();
        var one = new byte[1];
        while (head.Length < 8192 && !(head.Length >= 4 && head[^4] == '\r' && head[^3] == '\n' && head[^2] == '\r' && head[^1] == '\n'))
        {
            if (await stream.ReadAsync(one, timeout.Token) == 0)
            {
                break;
            }

            head.Append((char)one[0]);
        }

        return head.ToString();
    }

    private static async Task<HelloOk> HelloAsync(WebSocket socket, string token, string deviceId)
    {
        var hello = new ClientFrame { RequestId = 1, Hello = new Hello { Token = token, DeviceId = deviceId, Platform = Platform.Linux } };
        await socket.SendAsync(hello.ToByteArray(), WebSocketMessageType.Binary, true, CancellationToken.None);
        var first = await ReceiveAsync(socket);
        Assert.Equal(ServerFrame.BodyOneofCase.HelloOk, first!.BodyCase);
        while ((await ReceiveAsync(socket))?.BodyCase is { } kind && kind != ServerFrame.BodyOneofCase.SyncComplete)
        {
        }

        return first.HelloOk;
    }

    private static async Task<ServerFrame?> ReceiveAsync(WebSocket socket)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var buffer = new byte[1 << 16];
        var count = 0;
        while (true)
        {
            if (count == buffer.Length)
            {
                Array.Resize(ref buffer, buffer.Length * 2); // a sync frame may be larger
            }

            var result = await socket.ReceiveAsync(buffer.AsMemory(count), timeout.Token);
            if (result.MessageType == WebSocketMessageType.Close)
            {
                return null;
            }

            count += result.Count;
            if (result.EndOfMessage)
            {
                Assert.True(FrameCodec.TryDecodeServer(buffer.AsSpan(0, count), out var frame));
                return frame;
            }
        }
    }
}
