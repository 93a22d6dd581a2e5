using System.Reflection;
using System.Runtime.ExceptionServices;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Parley.Abstractions.Messaging;
using Parley.Gateway.Connections;
using Parley.Protocol.V1;
using Parley.Sdk;
using Parley.Testing;

namespace Parley.IntegrationTests;

/// <summary>
/// One server with the one-way send on (ADR 0022), a 2 s answer timeout, and a message store that fails to load any
/// conversation whose id holds <see cref="FailingMarker"/> (so that conversation's activation fails, every time).
/// </summary>
public sealed class OneWaySendServerFixture : IAsyncLifetime
{
    public const string FailingMarker = "actfail";

    public TestServer Server { get; private set; } = null!;

    public async Task InitializeAsync() =>
        Server = await TestServer.StartAsync(
            new Dictionary<string, string?>
            {
                ["Parley:Messaging:OneWaySend"] = "true",
                ["Parley:Messaging:AckTimeout"] = "00:00:02",
            },
            builder =>
            {
                var registered = builder.Services.Last(d => d.ServiceType == typeof(IMessageStore));
                builder.Services.Replace(ServiceDescriptor.Singleton<IMessageStore>(sp =>
                    FailingActivationStore.Wrap((IMessageStore)(registered.ImplementationFactory?.Invoke(sp) ?? registered.ImplementationInstance
                        ?? ActivatorUtilities.CreateInstance(sp, registered.ImplementationType!)))));
            });

    public async Task DisposeAsync() => await Server.DisposeAsync();
}

/// <summary>
/// The one-way send (ADR 0022) on the real server over real sockets through the SDK: acks after the commit, refusals with
/// their codes, duplicates, a connection closed with sends in flight, and a conversation whose activation fails (answered
/// UNAVAILABLE by the gateway's timeout, never an ack). Each test checks that its sends took the one-way path.
/// </summary>
public sealed class OneWaySendTests(OneWaySendServerFixture fixture) : IClassFixture<OneWaySendServerFixture>
{
    private TestServer Server => fixture.Server;

    private SendAnswers Answers => Server.Services.GetRequiredService<SendAnswers>();

    [Fact]
    public async Task OneWaySend_AckedAfterTheCommit_StoredAndDelivered_TableEmptyAfterwards()
    {
        var alice = await Server.CreateUserAsync("owa");
        var bob = await Server.CreateUserAsync("owb");
        await using var aliceClient = await Server.ConnectAsync(alice);
        await using var bobClient = await Server.ConnectAsync(bob);
        var received = new TaskCompletionSource<Message>(TaskCreationOptions.RunContinuationsAsynchronously);
        bobClient.MessageReceived += (_, e) => received.TrySetResult(e.Message);
        var begun = Answers.Begun;

        var receipts = new List<SendReceipt>();
        for (var i = 0; i < 20; i++)
        {
            receipts.Add(await aliceClient.SendTextAsync(bob, $"one-way {i}", clientMsgId: $"ow-{i}"));
        }

        Assert.True(Answers.Begun - begun >= 20, $"only {Answers.Begun - begun} of 20 sends took the one-way path");
        Assert.Equal(Enumerable.Range(1, 20).Select(i => (ulong)i), receipts.Select(r => r.Seq));
        Assert.All(receipts, r => Assert.False(r.Duplicate));
        var first = await Wait.ForAsync(received.Task, "bob receives the first message");
        Assert.Equal(receipts[0].ServerMsgId, first.ServerMsgId);

        var history = await bobClient.GetHistoryAsync(receipts[0].ConversationId, 0, Direction.Forward, 50);
        Assert.Equal(receipts.Select(r => (r.Seq, r.ServerMsgId)), history.Messages.Select(m => (m.Seq, m.ServerMsgId)));
        await Wait.UntilAsync(() => Answers.Pending == 0, "every one-way send left the table");
    }

    [Fact]
    public async Task OneWaySend_Refusals_AnsweredWithTheirCodes_NothingStored()
    {
        var alice = await Server.CreateUserAsync("owa");
        var bob = await Server.CreateUserAsync("owb");
        var carol = await Server.CreateUserAsync("owc");
        await using var aliceClient = await Server.ConnectAsync(alice);
        await using var bobClient = await Server.ConnectAsync(bob);
        await using var carolClient = await Server.ConnectAsync(carol);
        var group = await aliceClient.CreateGroupAsync("ow-group", [bob]);
        var ack = await aliceClient.SendTextAsync(bob, "before the block");
        var begun = Answers.Begun;

        // Refused by the grain: not a member, too large; refused by the gateway before the call: an empty text.
        Assert.Equal(ErrorCode.NotMember, (await Assert.ThrowsAsync<ParleyException>(() => carolClient.SendTextToConversationAsync(group.ConversationId, "let me in"))).Code);
        Assert.Equal(ErrorCode.TooLarge, (await Assert.ThrowsAsync<ParleyException>(() => aliceClient.SendTextAsync(bob, new string('x', 40_000)))).Code);
        Assert.Equal(ErrorCode.BadRequest, (await Assert.ThrowsAsync<ParleyException>(() => aliceClient.SendTextAsync(bob, string.Empty))).Code);
        Assert.Equal(ErrorCode.NotFound, (await Assert.ThrowsAsync<ParleyException>(() => aliceClient.SendTextToConversationAsync("sg_" + Guid.NewGuid().ToString("N"), "anyone?"))).Code);
        Assert.Equal(ErrorCode.NotFound, (await Assert.ThrowsAsync<ParleyException>(() => aliceClient.SendTextAsync("nobody-" + Guid.NewGuid().ToString("N")[..8], "anyone?"))).Code);

        await bobClient.SetBlockedAsync(alice, true);
        Assert.Equal(ErrorCode.Blocked, (await Assert.ThrowsAsync<ParleyException>(() => aliceClient.SendTextAsync(bob, "blocked"))).Code);
        Assert.Equal(ErrorCode.Blocked, (await Assert.ThrowsAsync<ParleyException>(() => bobClient.SendTextAsync(alice, "blocking"))).Code);
        Assert.True(Answers.Begun - begun >= 7, $"only {Answers.Begun - begun} of 7 refused sends took the one-way path");

        var direct = await aliceClient.GetHistoryAsync(ack.ConversationId, 0, Direction.Forward, 50);
        Assert.Equal([ack.Seq], direct.Messages.Select(m => m.Seq));
        var groupHistory = await aliceClient.GetHistoryAsync(group.ConversationId, 0, Direction.Forward, 50);
        Assert.DoesNotContain(groupHistory.Messages, m => m.SenderId == carol);
        await Wait.UntilAsync(() => Answers.Pending == 0, "every refused send left the table");
    }

    [Fact]
    public async Task OneWaySend_SameClientMsgId_InFlightAndAfter_OneMessageOriginalAckMarkedDuplicate()
    {
        var alice = await Server.CreateUserAsync("owa");
        var bob = await Server.CreateUserAsync("owb");
        await using var raw = await RawClient.ConnectAsync(Server.WebSocketUri);
        await raw.HelloAsync(await Server.IssueTokenAsync(alice, "raw"), "raw");

        // Three at once (the second and third arrive while the first is in flight), then one after its ack.
        for (uint id = 1; id <= 3; id++)
        {
            await raw.SendAsync(Send(id, bob, "dup-1"));
        }

        var acks = await ReceiveAnswersAsync(raw, 3);
        await raw.SendAsync(Send(4, bob, "dup-1"));
        var later = await ReceiveAnswersAsync(raw, 1);
        foreach (var (id, frame) in acks.Concat(later))
        {
            Assert.True(frame.BodyCase == ServerFrame.BodyOneofCase.SendAck, $"request {id} answered {frame.BodyCase}: {frame.Error?.Code}");
        }

        var all = acks.Concat(later).Select(a => a.Value.SendAck).ToList();
        Assert.Single(all.Select(a => (a.Seq, a.ServerMsgId)).Distinct());
        Assert.Equal(3, all.Count(a => a.Duplicate));
        Assert.True(later[4].SendAck.Duplicate, "the retry after the ack is a duplicate");

        await using var reader = await Server.ConnectAsync(bob);
        var history = await reader.GetHistoryAsync(all[0].ConversationId, 0, Direction.Forward, 50);
        Assert.Single(history.Messages);
    }

    [Fact]
    public async Task OneWaySend_ConnectionClosedWithSendsInFlight_NoCrash_EveryMessageStored_TableEmpty()
    {
        var alice = await Server.CreateUserAsync("owa");
        var bob = await Server.CreateUserAsync("owb");
        const int sends = 50;
        var begun = Answers.Begun;
        await using (var raw = await RawClient.ConnectAsync(Server.WebSocketUri))
        {
            await raw.HelloAsync(await Server.IssueTokenAsync(alice, "raw"), "raw");
            for (uint i = 1; i <= sends; i++)
            {
                await raw.SendAsync(Send(i, bob, $"closed-{i}"));
            }

            // The server has read the first sends (else it would test nothing: on a loaded CI the abort once came before the
            // server read any, stop 48's CI 2), the rest still in flight; then gone without reading an answer: aborted.
            await Wait.UntilAsync(() => Answers.Begun > begun, "the server read a send before the abort");
            raw.Socket.Abort();
        }

        await using var reader = await Server.ConnectAsync(bob);
        string? conversationId = null;
        await Wait.UntilAsync(
            () => (conversationId = reader.GetConversationsAsync().GetAwaiter().GetResult().Conversations.SingleOrDefault()?.ConversationId) is not null,
            "the first read send's commit created the conversation");
        var stored = 0;
        await Wait.UntilAsync(
            () => (stored = reader.GetHistoryAsync(conversationId!, 0, Direction.Forward, 100).GetAwaiter().GetResult().Messages.Count) == (int)(Answers.Begun - begun),
            () => $"{stored} of the {Answers.Begun - begun} sends the server read are stored");
        Assert.True(stored > 0, "the server read none of the sends before the abort");
        await Wait.UntilAsync(() => Answers.Pending == 0, () => $"{Answers.Pending} sends still wait for their answer");

        // The server still works for the same user.
        await using var again = await Server.ConnectAsync(alice);
        var ack = await again.SendTextAsync(bob, "after the abort");
        Assert.Equal((ulong)stored + 1, ack.Seq);
    }

    /// <summary>
    /// ADR 0034's invariant (stop 47): within a conversation the version a message is first committed at increases with its
    /// seq, so the messages first committed after a version are the end of the conversation's key range (SQLite keeps no
    /// version index of new rows). Three connections of both members pipeline 60 one-way sends each into one 1:1 without
    /// waiting for an answer: every message is stored once and, in seq order, the stored versions strictly increase.
    /// </summary>
    [Fact]
    public async Task OneWaySend_ConcurrentSendersOfOneConversation_FirstCommitVersionsIncreaseWithSeq()
    {
        var alice = await Server.CreateUserAsync("owa");
        var bob = await Server.CreateUserAsync("owb");
        const int sends = 60;
        var clients = new List<RawClient>();
        try
        {
            // alice's two devices in different platform classes (the default multi-login policy keeps one connection per class:
            // a second desktop closes the first), each with a token issued for its platform (a hello on another is refused).
            foreach (var (user, device, platform, name) in new[] { (alice, "a1", Platform.Linux, "linux"), (alice, "a2", Platform.Ios, "ios"), (bob, "b1", Platform.Linux, "linux") })
            {
                var raw = await RawClient.ConnectAsync(Server.WebSocketUri);
                clients.Add(raw);
                await raw.HelloAsync(await Server.IssueTokenAsync(user, device, name), device, platform);
            }

            var peers = new[] { bob, bob, alice };
            await Task.WhenAll(clients.Select(async (raw, c) =>
            {
                for (uint i = 1; i <= sends; i++)
                {
                    await raw.SendAsync(Send(i, peers[c], $"inv-{c}-{i}"));
                }
            }));
            var answers = await Task.WhenAll(clients.Select(raw => ReceiveAnswersAsync(raw, sends)));
            Assert.All(answers, a => Assert.All(a.Values, f => Assert.True(f.BodyCase == ServerFrame.BodyOneofCase.SendAck, $"answered {f.BodyCase}: {f.Error?.Code}")));
        }
        finally
        {
            foreach (var raw in clients)
            {
                await raw.DisposeAsync();
            }
        }

        await using var reader = await Server.ConnectAsync(bob);
        var conversationId = (await reader.GetConversationsAsync()).Conversations.Single().ConversationId;
        var store = Server.Services.GetRequiredService<IMessageStore>();
        var stored = await store.ReadMessagesAsync(conversationId, 1, ReadDirection.Forward, 1000);
        Assert.Equal(Enumerable.Range(1, 3 * sends).Select(i => (long)i), stored.Select(m => m.Seq));
        for (var i = 1; i < stored.Count; i++)
        {
            Assert.True(stored[i].Version > stored[i - 1].Version, $"seq {stored[i].Seq} committed at version {stored[i].Version}, seq {stored[i - 1].Seq} at {stored[i - 1].Version}");
        }
    }

    [Fact]
    public async Task OneWaySend_ActivationFails_AnsweredUnavailableByTheTimeout_NeverAnAck()
    {
        var alice = await Server.CreateUserAsync(OneWaySendServerFixture.FailingMarker);
        var bob = await Server.CreateUserAsync("owb");
        await using var raw = await RawClient.ConnectAsync(Server.WebSocketUri);
        await raw.HelloAsync(await Server.IssueTokenAsync(alice, "raw"), "raw");
        var begun = Answers.Begun;

        await raw.SendAsync(Send(1, bob, "never"));
        await raw.SendAsync(Send(2, bob, "never-2"));
        var answers = await ReceiveAnswersAsync(raw, 2, TimeSpan.FromSeconds(30));
        Assert.All(answers.Values, frame => Assert.Equal(ErrorCode.Unavailable, frame.Error?.Code));
        Assert.Equal(2, Answers.Begun - begun);

        // The connection stays usable: a send to a conversation that activates is acked.
        var carol = await Server.CreateUserAsync("owc");
        await using var carolClient = await Server.ConnectAsync(carol);
        var ack = await carolClient.SendTextAsync(bob, "fine");
        Assert.Equal(1UL, ack.Seq);
    }

    [Fact]
    public async Task OneWaySend_CommitFails_AnsweredByTheGrainNotTheTimeout_RetryStoredOnceAtSeq1()
    {
        // Stop 45 (issue 17): a one-way send is its own commit entry and resumes its activation with a work item of its
        // own; a failed commit must still be answered once, by the grain (UNAVAILABLE "not stored", not the 2 s timeout's
        // answer), the activation must reload (the retry would be refused forever on the poisoned epoch otherwise), and
        // the retry must be stored once, without a gap.
        var alice = await Server.CreateUserAsync("owa");
        var bob = await Server.CreateUserAsync("owb");
        await using var bobClient = await Server.ConnectAsync(bob);
        var received = new List<Message>();
        bobClient.MessageReceived += (_, e) => { lock (received) { received.Add(e.Message); } };
        await using var raw = await RawClient.ConnectAsync(Server.WebSocketUri);
        await raw.HelloAsync(await Server.IssueTokenAsync(alice, "raw"), "raw");
        var clientMsgId = "cfail-" + Guid.NewGuid().ToString("N")[..12];
        var begun = Answers.Begun;

        FailingActivationStore.FailCommitsOf = clientMsgId;
        var started = System.Diagnostics.Stopwatch.StartNew();
        ServerFrame failed;
        try
        {
            await raw.SendAsync(Send(1, bob, clientMsgId));
            failed = (await ReceiveAnswersAsync(raw, 1, TimeSpan.FromSeconds(30)))[1];
        }
        finally
        {
            FailingActivationStore.FailCommitsOf = null;
        }

        Assert.Equal(ServerFrame.BodyOneofCase.Error, failed.BodyCase);
        Assert.Equal(ErrorCode.Unavailable, failed.Error.Code);
        Assert.DoesNotContain("in time", failed.Error.Message, StringComparison.Ordinal); // the timeout's answer says "in time"
        Assert.Equal(1, Answers.Begun - begun);

        // The retry of the same client message id: a fresh activation stores it at seq 1 (the failed one left no seq).
        // Until the old activation is gone, a retry may be refused by the pipeline at submission (its epoch is poisoned):
        // answered UNAVAILABLE at once, in the send's own turn.
        SendAck? ack = null;
        for (uint requestId = 2; ack is null; requestId++)
        {
            Assert.True(requestId < 60, "the retry after the failed commit was never acked");
            await raw.SendAsync(Send(requestId, bob, clientMsgId));
            var answer = (await ReceiveAnswersAsync(raw, 1, TimeSpan.FromSeconds(30)))[requestId];
            if (answer.BodyCase == ServerFrame.BodyOneofCase.SendAck)
            {
                ack = answer.SendAck;
            }
            else
            {
                Assert.Equal(ErrorCode.Unavailable, answer.Error.Code);
                await Task.Delay(250);
            }
        }

        Assert.Equal(1UL, ack!.Seq);
        Assert.False(ack.Duplicate);
        var history = await bobClient.GetHistoryAsync(ack.ConversationId, 0, Direction.Forward, 50);
        Assert.Equal([(1UL, ack.ServerMsgId)], history.Messages.Select(m => (m.Seq, m.ServerMsgId)));
        await Wait.UntilAsync(() => { lock (received) { return received.Count == 1; } }, "bob receives the stored message once");
        Assert.True(started.Elapsed < TimeSpan.FromSeconds(60));
        await Wait.UntilAsync(() => Answers.Pending == 0, "every one-way send left the table");
    }

    internal static ClientFrame Send(uint requestId, string peer, string clientMsgId) => new()
    {
        RequestId = requestId,
        Send = new SendRequest { ClientMsgId = clientMsgId, Target = new Target { UserId = peer }, Content = new Content { Text = new TextContent { Text = "x" } } },
    };

    // The answers (acks or errors) to `count` requests, by request id; events in between are skipped.
    internal static async Task<Dictionary<uint, ServerFrame>> ReceiveAnswersAsync(RawClient raw, int count, TimeSpan? timeout = null)
    {
        var answers = new Dictionary<uint, ServerFrame>();
        while (answers.Count < count)
        {
            var frame = await raw.ReceiveAsync(timeout ?? TimeSpan.FromSeconds(30)) ?? throw new InvalidOperationException($"closed or silent after {answers.Count} answers");
            if (frame.RequestId != 0)
            {
                Assert.True(answers.TryAdd(frame.RequestId, frame), $"request {frame.RequestId} answered twice");
            }
        }

        return answers;
    }
}

/// <summary>The real store, except that loading a conversation whose id holds the marker fails (its activation fails), and a
/// commit holding a message of <see cref="FailCommitsOf"/> fails.</summary>
public class FailingActivationStore : DispatchProxy
{
    /// <summary>While set, every commit whose batch holds a message of this client message id fails (stop 45's test).</summary>
    private static volatile string? _failCommitsOf;

    public static string? FailCommitsOf
    {
        get => _failCommitsOf;
        set => _failCommitsOf = value;
    }

    private IMessageStore _inner = null!;

    public static IMessageStore Wrap(IMessageStore inner)
    {
        var proxy = Create<IMessageStore, FailingActivationStore>();
        ((FailingActivationStore)(object)proxy)._inner = inner;
        return proxy;
    }

    protected override object? Invoke(MethodInfo? targetMethod, object?[]? args)
    {
        // An activation's read (LoadConversationAsync, stop 47) or the row alone.
        if (targetMethod!.Name is nameof(IMessageStore.GetConversationAsync) or nameof(IMessageStore.LoadConversationAsync) && args is [string id, ..] && id.Contains(OneWaySendServerFixture.FailingMarker, StringComparison.Ordinal))
        {
            throw new IOException("injected: this conversation cannot be loaded");
        }

        if (targetMethod.Name == nameof(IMessageStore.CommitAsync) && args is [CommitBatch batch, ..] && FailCommitsOf is { } failing
            && batch.Messages.Any(m => m.ClientMsgId == failing))
        {
            return Task.FromException(new IOException("injected: this batch cannot be committed"));
        }

        try
        {
            return targetMethod.Invoke(_inner, args);
        }
        catch (TargetInvocationException ex) when (ex.InnerException is not null)
        {
            ExceptionDispatchInfo.Capture(ex.InnerException).Throw();
            throw;
        }
    }
}
