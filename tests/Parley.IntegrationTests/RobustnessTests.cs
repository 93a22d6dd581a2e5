using System.Net.WebSockets;
using Google.Protobuf;
using Parley.IntegrationTests.Infrastructure;
using Parley.Protocol;
using Parley.Protocol.V1;

namespace Parley.IntegrationTests;

public sealed class RobustnessFixture : IAsyncLifetime
{
    public TestServer Server { get; private set; } = null!;

    public async Task InitializeAsync() => Server = await TestServer.StartAsync(new Dictionary<string, string?>
    {
        // Short enough for the 4004 tests, long enough for a Hello sent at once on a loaded machine (load 20-80).
        ["Parley:Gateway:HandshakeTimeout"] = "00:00:02",
        ["Parley:Gateway:MaxFrameBytes"] = "8192",
        ["Parley:Gateway:MaxMalformedFrames"] = "3",
    });

    public async Task DisposeAsync() => await Server.DisposeAsync();
}

public sealed class RobustnessTests(RobustnessFixture fixture) : IClassFixture<RobustnessFixture>
{
    private TestServer Server => fixture.Server;

    [Fact]
    public async Task Handshake_GarbageFirstFrame_TypedErrorThenClose4003()
    {
        await using var raw = await RawClient.ConnectAsync(Server.WebSocketUri);
        await raw.SendBytesAsync([0xFF, 0xFF, 0xFF, 0x07, 0x01]);
        var error = await raw.ReceiveAsync();
        Assert.Equal(ErrorCode.ProtocolViolation, error!.Error.Code);
        Assert.Equal(CloseCodes.HandshakeFailed, await raw.ReceiveCloseAsync());
    }

    [Fact]
    public async Task Handshake_RequestBeforeHello_IsRefused()
    {
        await using var raw = await RawClient.ConnectAsync(Server.WebSocketUri);
        await raw.SendAsync(new ClientFrame { RequestId = 5, Ping = new Ping() });
        var error = await raw.ReceiveAsync();
        Assert.Equal(ErrorCode.ProtocolViolation, error!.Error.Code);
        Assert.Equal(CloseCodes.HandshakeFailed, await raw.ReceiveCloseAsync());
    }

    [Fact]
    public async Task Handshake_NoHelloInTime_Close4004()
    {
        await using var raw = await RawClient.ConnectAsync(Server.WebSocketUri);
        Assert.Equal(CloseCodes.HandshakeTimeout, await raw.ReceiveCloseAsync());
    }

    [Fact]
    public async Task Handshake_HelloInTime_NotClosedOnceTheTimeoutPassed()
    {
        var user = await Server.CreateUserAsync("raw");
        var token = await Server.IssueTokenAsync(user, "d1"); // before connecting: the handshake timeout runs from the upgrade
        await using var raw = await RawClient.ConnectAsync(Server.WebSocketUri);
        await raw.HelloAsync(token, "d1");

        // The shared handshake timer expires sockets in the order they connected: once a later silent socket got its 4004,
        // the first socket's deadline has passed too, and its timeout must have ended with its Hello.
        await using var silent = await RawClient.ConnectAsync(Server.WebSocketUri);
        Assert.Equal(CloseCodes.HandshakeTimeout, await silent.ReceiveCloseAsync());

        await raw.SendAsync(new ClientFrame { RequestId = 7, Ping = new Ping() });
        var pong = await raw.ReceiveAsync();
        Assert.Equal(ServerFrame.BodyOneofCase.Pong, pong!.BodyCase);
        Assert.Equal(7U, pong.RequestId);
    }

    [Fact]
    public async Task Handshake_BadToken_Unauthenticated()
    {
        await using var raw = await RawClient.ConnectAsync(Server.WebSocketUri);
        await raw.SendAsync(new ClientFrame { RequestId = 1, Hello = new Hello { Token = "pt1.not-a-token.sig", DeviceId = "d1" } });
        var error = await raw.ReceiveAsync();
        Assert.Equal(ErrorCode.Unauthenticated, error!.Error.Code);
        Assert.Equal(1U, error.RequestId);
        Assert.Equal(CloseCodes.HandshakeFailed, await raw.ReceiveCloseAsync());
    }

    [Fact]
    public async Task Session_MalformedAndTruncatedFrames_GetBadFrameAndConnectionSurvives()
    {
        var user = await Server.CreateUserAsync("raw");
        var token = await Server.IssueTokenAsync(user, "d1"); // before connecting: the handshake timeout runs from the upgrade
        await using var raw = await RawClient.ConnectAsync(Server.WebSocketUri);
        await raw.HelloAsync(token, "d1");

        var valid = new ClientFrame { RequestId = 9, Send = new SendRequest { ClientMsgId = "x1", Target = new Target { UserId = user }, Content = new Content { Text = new TextContent { Text = "hello there" } } } }.ToByteArray();
        await raw.SendBytesAsync(valid[..(valid.Length / 2)]);
        Assert.Equal(ErrorCode.BadFrame, (await raw.ReceiveAsync())!.Error.Code);
        await raw.SendBytesAsync("{\"json\":true}"u8.ToArray(), WebSocketMessageType.Text);
        Assert.Equal(ErrorCode.BadFrame, (await raw.ReceiveAsync())!.Error.Code);

        await raw.SendAsync(new ClientFrame { RequestId = 10, Ping = new Ping() });
        var pong = await raw.ReceiveAsync();
        Assert.Equal(10U, pong!.RequestId);
        Assert.Equal(ServerFrame.BodyOneofCase.Pong, pong.BodyCase);

        await raw.SendAsync(new ClientFrame { RequestId = 0, Ping = new Ping() });
        Assert.Equal(ErrorCode.BadRequest, (await raw.ReceiveAsync())!.Error.Code);
    }

    [Fact]
    public async Task Session_TooManyMalformedFrames_Close4009()
    {
        var user = await Server.CreateUserAsync("raw");
        var token = await Server.IssueTokenAsync(user, "d1"); // before connecting: the handshake timeout runs from the upgrade
        await using var raw = await RawClient.ConnectAsync(Server.WebSocketUri);
        await raw.HelloAsync(token, "d1");
        for (var i = 0; i < 5; i++)
        {
            await raw.SendBytesAsync([0x0A, 0xFF, 0xFF]);
        }

        Assert.Equal(CloseCodes.ProtocolError, await raw.ReceiveCloseAsync());
    }

    [Fact]
    public async Task Session_OversizedFrame_Close1009_AndOthersUnaffected()
    {
        var alice = await Server.CreateUserAsync("alice");
        var bob = await Server.CreateUserAsync("bob");
        var aliceClient = await Server.ConnectAsync(alice);
        var bobRecorder = new Recorder(await Server.CreateClientAsync(bob));
        await bobRecorder.Client.ConnectAsync();

        var attacker = await Server.CreateUserAsync("mallory");
        var token = await Server.IssueTokenAsync(attacker, "d1"); // before connecting: the handshake timeout runs from the upgrade
        await using var raw = await RawClient.ConnectAsync(Server.WebSocketUri);
        await raw.HelloAsync(token, "d1");
        await raw.SendBytesAsync(new byte[64 * 1024]);
        Assert.Equal(CloseCodes.MessageTooBig, await raw.ReceiveCloseAsync());

        var ack = await aliceClient.SendTextAsync(bob, "still fine");
        await bobRecorder.WaitForMessagesAsync(ack.ConversationId, 1);
    }

    [Fact]
    public async Task Fuzz_RandomFrames_NeverCrashTheServer()
    {
        var alice = await Server.CreateUserAsync("alice");
        var bob = await Server.CreateUserAsync("bob");
        var aliceClient = await Server.ConnectAsync(alice);
        var bobRecorder = new Recorder(await Server.CreateClientAsync(bob));
        await bobRecorder.Client.ConnectAsync();
        var random = new Random(1234);
        var user = await Server.CreateUserAsync("fuzz");
        var token = await Server.IssueTokenAsync(user, "d1");

        for (var round = 0; round < 20; round++)
        {
            await using var raw = await RawClient.ConnectAsync(Server.WebSocketUri);
            if (round % 2 == 0)
            {
                await raw.HelloAsync(token, "d1");
            }

            for (var i = 0; i < 10 && raw.Socket.State == WebSocketState.Open; i++)
            {
                var bytes = new byte[random.Next(0, 300)];
                random.NextBytes(bytes);
                try
                {
                    await raw.SendBytesAsync(bytes);
                }
                catch (WebSocketException)
                {
                    break;
                }
            }
        }

        using var health = await Server.Admin.GetAsync("/healthz");
        Assert.True(health.IsSuccessStatusCode);
        var ack = await aliceClient.SendTextAsync(bob, "after fuzz");
        await bobRecorder.WaitForMessagesAsync(ack.ConversationId, 1);
    }
}
