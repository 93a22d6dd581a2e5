using Parley.Protocol.V1;
using Parley.Testing;

namespace Parley.IntegrationTests;

/// <summary>One server whose connections may have only two requests in flight.</summary>
public sealed class TwoInFlightServerFixture : IAsyncLifetime
{
    public TestServer Server { get; private set; } = null!;

    public async Task InitializeAsync() =>
        Server = await TestServer.StartAsync(new Dictionary<string, string?>
        {
            ["Parley:Gateway:MaxInFlightRequests"] = "2",
            ["Parley:Messaging:OneWaySend"] = "false", // the request/response send, which is no longer the default (stop 43)
        });

    public async Task DisposeAsync() => await Server.DisposeAsync();
}

/// <summary>
/// The connection host dispatches a request and ends it when its handling completes, holding one of the connection's
/// in-flight slots meanwhile, without a task per request (issue 17): many more requests than slots are all answered, and
/// requests still in flight when the client goes away are finished (their messages stored) before the connection ends.
/// </summary>
public sealed class ConnectionHostDispatchTests(TwoInFlightServerFixture fixture) : ConnectionHostDispatchCases, IClassFixture<TwoInFlightServerFixture>
{
    protected override TestServer Server => fixture.Server;
}

/// <summary>As <see cref="TwoInFlightServerFixture"/>, with the one-way send (ADR 0022).</summary>
public sealed class TwoInFlightOneWayServerFixture : IAsyncLifetime
{
    public TestServer Server { get; private set; } = null!;

    public async Task InitializeAsync() =>
        Server = await TestServer.StartAsync(new Dictionary<string, string?>
        {
            ["Parley:Gateway:MaxInFlightRequests"] = "2",
            ["Parley:Messaging:OneWaySend"] = "true",
        });

    public async Task DisposeAsync() => await Server.DisposeAsync();
}

/// <summary>
/// The same cases with the one-way send (ADR 0022): a send holds its in-flight slot until its answer is written, so the
/// table of sends awaiting their answer stays within the connection's limit and a closing connection still finishes them.
/// </summary>
public sealed class ConnectionHostDispatchOneWayTests(TwoInFlightOneWayServerFixture fixture) : ConnectionHostDispatchCases, IClassFixture<TwoInFlightOneWayServerFixture>
{
    protected override TestServer Server => fixture.Server;
}

public abstract class ConnectionHostDispatchCases
{
    protected abstract TestServer Server { get; }

    [Fact]
    public async Task ManyMoreRequestsThanSlots_EveryOneAnswered_SendsGetGaplessSeqs()
    {
        var me = await Server.CreateUserAsync("chd");
        var peer = await Server.CreateUserAsync("chd");
        await using var raw = await RawClient.ConnectAsync(Server.WebSocketUri);
        await raw.HelloAsync(await Server.IssueTokenAsync(me, "raw"), "raw");
        const int sends = 40;
        for (uint i = 1; i <= sends; i++)
        {
            await raw.SendAsync(Send(i, peer));
            if (i % 10 == 0)
            {
                await raw.SendAsync(new ClientFrame { RequestId = 1000 + i, Ping = new Ping() });
            }
        }

        var acks = new Dictionary<uint, SendAck>();
        var pongs = 0;
        while (acks.Count < sends || pongs < sends / 10)
        {
            var frame = await raw.ReceiveAsync(TimeSpan.FromSeconds(30)) ?? throw new InvalidOperationException($"closed or silent after {acks.Count} acks and {pongs} pongs");
            if (frame.BodyCase == ServerFrame.BodyOneofCase.SendAck)
            {
                Assert.True(acks.TryAdd(frame.RequestId, frame.SendAck), $"request {frame.RequestId} answered twice");
            }
            else if (frame.BodyCase == ServerFrame.BodyOneofCase.Pong)
            {
                pongs++;
            }
            else
            {
                Assert.True(frame.RequestId == 0, $"request {frame.RequestId} answered with {frame.BodyCase}");
            }
        }

        Assert.Equal(Enumerable.Range(1, sends).Select(i => (uint)i), acks.Keys.Order());
        Assert.Equal(Enumerable.Range(1, sends).Select(i => (ulong)i), acks.Values.Select(a => a.Seq).Order());
    }

    [Fact]
    public async Task ClientClosesWithRequestsInFlight_TheyFinish_ThenTheServerClosesNormally_EveryMessageStored()
    {
        var me = await Server.CreateUserAsync("chd");
        var peer = await Server.CreateUserAsync("chd");
        const int sends = 30;
        await using var raw = await RawClient.ConnectAsync(Server.WebSocketUri);
        await raw.HelloAsync(await Server.IssueTokenAsync(me, "raw"), "raw");
        await raw.SendAsync(Send(1, peer));
        var first = await raw.ReceiveAsync(TimeSpan.FromSeconds(30));
        while (first is { BodyCase: not ServerFrame.BodyOneofCase.SendAck })
        {
            first = await raw.ReceiveAsync(TimeSpan.FromSeconds(30));
        }

        var conversationId = first?.SendAck.ConversationId ?? throw new InvalidOperationException("no ack for the first send");
        for (uint i = 2; i <= sends; i++)
        {
            await raw.SendAsync(Send(i, peer));
        }

        // The close right behind the sends, no ack read: the server reads it while two at a time are in flight, and
        // ends the connection only once they are finished (the socket stays open meanwhile, so nothing sent is lost).
        await raw.Socket.CloseOutputAsync(System.Net.WebSockets.WebSocketCloseStatus.NormalClosure, "gone", CancellationToken.None);

        // The receive loop ends once it holds every slot again: the server's close follows the acks.
        Assert.Equal(1000, await raw.ReceiveCloseAsync(TimeSpan.FromSeconds(30)));

        await using var reader = await Server.ConnectAsync(peer);
        var deadline = DateTime.UtcNow.AddSeconds(30);
        int stored;
        while ((stored = (await reader.GetHistoryAsync(conversationId)).Messages.Count) < sends && DateTime.UtcNow < deadline)
        {
            await Task.Delay(100);
        }

        Assert.Equal(sends, stored);
    }

    private static ClientFrame Send(uint requestId, string peer) => new()
    {
        RequestId = requestId,
        Send = new SendRequest { ClientMsgId = $"chd-{requestId}", Target = new Target { UserId = peer }, Content = new Content { Text = new TextContent { Text = "x" } } },
    };
}
