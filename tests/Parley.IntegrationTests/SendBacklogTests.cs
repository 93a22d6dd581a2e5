using System.Reflection;
using System.Runtime.ExceptionServices;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Parley.Abstractions.Messaging;
using Parley.Core.Messaging;
using Parley.Gateway.Connections;
using Parley.Protocol.V1;
using Parley.Sdk;
using Parley.Testing;

namespace Parley.IntegrationTests;

/// <summary>
/// One server with the one-way send on, a node-wide bound of <see cref="Bound"/> outstanding sends (ADR 0031), a 3 s answer
/// timeout, and a message store whose commits wait <see cref="SlowCommitStore.Delay"/> while it is set (a slow grain).
/// </summary>
public sealed class SendBacklogServerFixture : IAsyncLifetime
{
    public const int Bound = 6;

    public TestServer Server { get; private set; } = null!;

    public async Task InitializeAsync() =>
        Server = await SlowCommitStore.StartServerAsync(
            new Dictionary<string, string?>
            {
                ["Parley:Messaging:OneWaySend"] = "true",
                ["Parley:Messaging:AckTimeout"] = "00:00:03",
                ["Parley:Messaging:MaxOutstandingSends"] = Bound.ToString(System.Globalization.CultureInfo.InvariantCulture),
                ["Parley:Messaging:BusyRetryAfter"] = "00:00:00.200",
            });

    public async Task DisposeAsync() => await Server.DisposeAsync();
}

/// <summary>
/// The bound of outstanding send work (ADR 0031) on the real server over real sockets, through the SDK and a raw client:
/// a flood past the bound is refused UNAVAILABLE with a retry-after before any work, and every acknowledged message is
/// stored exactly once (the SDK's retries of the refused ones too); sends within the bound are never refused; a send
/// answered by the timeout keeps counting until its slow grain answers, and that late answer releases it exactly once.
/// </summary>
[Collection(SlowCommitStore.Collection)]
public sealed class SendBacklogTests(SendBacklogServerFixture fixture) : IClassFixture<SendBacklogServerFixture>
{
    private TestServer Server => fixture.Server;

    private SendBacklog Backlog => Server.Services.GetRequiredService<SendBacklog>();

    private SendAnswers Answers => Server.Services.GetRequiredService<SendAnswers>();

    [Fact]
    public async Task Flood_PastTheBound_RefusedBusyWithRetryAfter_EveryAckedStoredOnce_RetriesStoredOnce()
    {
        var alice = await Server.CreateUserAsync("bla");
        var bob = await Server.CreateUserAsync("blb");
        await using var bobClient = await Server.ConnectAsync(bob);
        await using var raw = await RawClient.ConnectAsync(Server.WebSocketUri);
        await raw.HelloAsync(await Server.IssueTokenAsync(alice, "raw"), "raw");
        var refused0 = Backlog.Refused;
        const int Flood = 40;
        var ids = Enumerable.Range(1, Flood).Select(i => $"flood-{i}-{Guid.NewGuid():N}"[..30]).ToArray();

        // Commits take 300 ms while the flood is read: at most Bound sends can be outstanding, the rest are refused.
        Dictionary<uint, ServerFrame> answers;
        SlowCommitStore.Delay = TimeSpan.FromMilliseconds(300);
        try
        {
            for (var i = 0; i < Flood; i++)
            {
                await raw.SendAsync(OneWaySendTests.Send((uint)(i + 1), bob, ids[i]));
            }

            answers = await OneWaySendTests.ReceiveAnswersAsync(raw, Flood);
        }
        finally
        {
            SlowCommitStore.Delay = null;
        }

        // Each answer is an ack or a busy refusal; on a starved machine a send may also outlast the 3-s timeout
        // (UNAVAILABLE "not answered in time": it may still be stored).
        var acked = answers.Where(a => a.Value.BodyCase == ServerFrame.BodyOneofCase.SendAck).ToDictionary(a => ids[a.Key - 1], a => a.Value.SendAck);
        var busy = answers.Where(a => a.Value.Error?.Message == SendBacklog.BusyMessage).Select(a => ids[a.Key - 1]).ToHashSet();
        var timedOut = answers.Where(a => a.Value.BodyCase == ServerFrame.BodyOneofCase.Error && a.Value.Error.Message != SendBacklog.BusyMessage).ToList();
        Assert.All(timedOut, t => Assert.Contains("in time", t.Value.Error.Message, StringComparison.Ordinal));
        Assert.Equal(Flood, acked.Count + busy.Count + timedOut.Count);
        Assert.NotEmpty(acked);
        Assert.True(busy.Count >= Flood - (4 * SendBacklogServerFixture.Bound), $"only {busy.Count} of {Flood} refused with a bound of {SendBacklogServerFixture.Bound}");
        Assert.All(answers.Values.Where(a => a.Error?.Message == SendBacklog.BusyMessage), b =>
        {
            Assert.Equal(ErrorCode.Unavailable, b.Error.Code);
            Assert.InRange(b.Error.RetryAfterMs, 100u, 300u); // 200 ms ± 50 %
        });
        Assert.Equal(busy.Count, Backlog.Refused - refused0);

        // What was acked is stored once at its acked seq, gapless from seq 1; nothing refused as busy was stored.
        var conversationId = acked.Values.First().ConversationId;
        await Wait.UntilAsync(() => Backlog.Outstanding == 0, "the flood's work was answered");
        var history = await bobClient.GetHistoryAsync(conversationId, 0, Direction.Forward, 200);
        Assert.Equal(Enumerable.Range(1, history.Messages.Count).Select(i => (ulong)i), history.Messages.Select(m => m.Seq));
        Assert.All(acked, a => Assert.Single(history.Messages, m => m.ClientMsgId == a.Key && m.Seq == a.Value.Seq && m.ServerMsgId == a.Value.ServerMsgId));
        Assert.DoesNotContain(history.Messages, m => busy.Contains(m.ClientMsgId));

        // The SDK retries the refused ones under their ids (it waits the retry-after): each stored once, after the others.
        await using var aliceClient = await Server.ConnectAsync(alice);
        var retried = await Task.WhenAll(busy.Select(id => aliceClient.SendTextAsync(bob, "x", id)));
        Assert.All(retried, r => Assert.False(r.Duplicate));
        await Task.WhenAll(timedOut.Select(t => aliceClient.SendTextAsync(bob, "x", ids[t.Key - 1])));
        var again = await aliceClient.SendTextAsync(bob, "x", acked.Keys.First());
        Assert.True(again.Duplicate);
        Assert.Equal(acked[acked.Keys.First()].Seq, again.Seq);
        history = await bobClient.GetHistoryAsync(conversationId, 0, Direction.Forward, 200);
        Assert.Equal(Enumerable.Range(1, Flood).Select(i => (ulong)i), history.Messages.Select(m => m.Seq));
        Assert.Equal(ids.Order(), history.Messages.Select(m => m.ClientMsgId).Order());
        await Wait.UntilAsync(() => Backlog.Outstanding == 0 && Answers.Pending == 0, "every send's work was released");
    }

    [Fact]
    public async Task WithinTheBound_NeverRefused()
    {
        var alice = await Server.CreateUserAsync("bna");
        var bob = await Server.CreateUserAsync("bnb");
        await using var aliceClient = await Server.ConnectAsync(alice);
        var refused0 = Backlog.Refused;

        // One at a time, then Bound at once, a few rounds: never past the bound, so never refused.
        for (var i = 0; i < 20; i++)
        {
            await aliceClient.SendTextAsync(bob, "one", $"one-{i}-{Guid.NewGuid():N}"[..30]);
        }

        for (var round = 0; round < 5; round++)
        {
            await Wait.UntilAsync(() => Backlog.Outstanding == 0, "the previous round's work was released");
            await Task.WhenAll(Enumerable.Range(0, SendBacklogServerFixture.Bound)
                .Select(i => aliceClient.SendTextAsync(bob, "many", $"m-{round}-{i}-{Guid.NewGuid():N}"[..30])));
        }

        Assert.Equal(refused0, Backlog.Refused);
        await Wait.UntilAsync(() => Backlog.Outstanding == 0, "every send's work was released");
    }

    [Fact]
    public async Task SlowGrain_TimedOutSendsCountUntilTheirLateAnswer_ReleasedExactlyOnce()
    {
        var alice = await Server.CreateUserAsync("bsa");
        var bob = await Server.CreateUserAsync("bsb");
        await using var bobClient = await Server.ConnectAsync(bob);
        await using var raw = await RawClient.ConnectAsync(Server.WebSocketUri);
        await raw.HelloAsync(await Server.IssueTokenAsync(alice, "raw"), "raw");
        await Wait.UntilAsync(() => Backlog.Outstanding == 0, "no work outstanding before");
        var ids = Enumerable.Range(1, 3).Select(i => $"slow-{i}-{Guid.NewGuid():N}"[..30]).ToArray();

        // Commits take 8 s; the gateway answers each send UNAVAILABLE after 3 s (the timeout), but its work still counts.
        Dictionary<uint, ServerFrame> answers;
        SlowCommitStore.Delay = TimeSpan.FromSeconds(8);
        try
        {
            for (var i = 0; i < ids.Length; i++)
            {
                await raw.SendAsync(OneWaySendTests.Send((uint)(i + 1), bob, ids[i]));
            }

            answers = await OneWaySendTests.ReceiveAnswersAsync(raw, ids.Length);
            Assert.All(answers.Values, a => Assert.Equal(ErrorCode.Unavailable, a.Error?.Code));
            Assert.All(answers.Values, a => Assert.Contains("in time", a.Error.Message, StringComparison.Ordinal));

            // Answered, but the grain has not: the three still count (a timeout that freed them would let a connection add work forever).
            Assert.Equal(3, Backlog.Outstanding);
            Assert.Equal(3, Answers.Owed);
            Assert.Equal(0, Answers.Pending);
        }
        finally
        {
            SlowCommitStore.Delay = null;
        }

        // The grain's late answers release each exactly once: back to 0, never below.
        await Wait.UntilAsync(() => Backlog.Outstanding == 0 && Answers.Owed == 0, "the late answers released the work", TimeSpan.FromSeconds(30));
        await Task.Delay(1500); // a second sweep and any stray answer: still exactly 0
        Assert.Equal(0, Backlog.Outstanding);

        // The messages were stored once; the client's retries are answered as duplicates at their seqs.
        await using var aliceClient = await Server.ConnectAsync(alice);
        var retried = new List<SendReceipt>();
        foreach (var id in ids)
        {
            retried.Add(await aliceClient.SendTextAsync(bob, "x", id));
        }

        Assert.All(retried, r => Assert.True(r.Duplicate));
        Assert.Equal([1UL, 2UL, 3UL], retried.Select(r => r.Seq).Order()); // pipelined sends to a new conversation may take their seqs in any order
        var history = await bobClient.GetHistoryAsync(retried[0].ConversationId, 0, Direction.Forward, 50);
        Assert.Equal(3, history.Messages.Count);

        // The slots are reusable: new sends are acked and release their work.
        var fresh = await aliceClient.SendTextAsync(bob, "after");
        Assert.Equal(4UL, fresh.Seq);
        await Wait.UntilAsync(() => Backlog.Outstanding == 0 && Answers.Pending == 0 && Answers.Owed == 0, "the fresh send's work was released");
    }
}

/// <summary>
/// One server with the one-way send on, the bound in time of outstanding send work (ADR 0035) at <see cref="MaxAge"/>, a
/// count bound far above what the tests send, a 20-s answer timeout, and the slow-commit store of
/// <see cref="SendBacklogServerFixture"/>.
/// </summary>
public sealed class SendAgeServerFixture : IAsyncLifetime
{
    public static readonly TimeSpan MaxAge = TimeSpan.FromSeconds(1);

    public TestServer Server { get; private set; } = null!;

    public async Task InitializeAsync() =>
        Server = await SlowCommitStore.StartServerAsync(
            new Dictionary<string, string?>
            {
                ["Parley:Messaging:OneWaySend"] = "true",
                ["Parley:Messaging:AckTimeout"] = "00:00:20",
                ["Parley:Messaging:MaxOutstandingSends"] = "10000",
                ["Parley:Messaging:MaxOutstandingSendAge"] = MaxAge.ToString(),
                ["Parley:Messaging:BusyRetryAfter"] = "00:00:00.200",
            });

    public async Task DisposeAsync() => await Server.DisposeAsync();
}

/// <summary>
/// The bound in time (ADR 0035) on the real server over real sockets: while the commit pipeline is stalled, sends admitted
/// earlier grow older than the bound and every new send is refused busy (the count bound is far away); once the pipeline
/// drains, sends are admitted again, and nothing acknowledged or refused is lost or stored twice.
/// </summary>
[Collection(SlowCommitStore.Collection)]
public sealed class SendAgeBoundTests(SendAgeServerFixture fixture) : IClassFixture<SendAgeServerFixture>
{
    private TestServer Server => fixture.Server;

    private SendBacklog Backlog => Server.Services.GetRequiredService<SendBacklog>();

    [Fact]
    public async Task StalledCommits_NewSendsRefusedBusyByAge_AdmittedAgainOnceDrained_NothingLost()
    {
        var alice = await Server.CreateUserAsync("aga");
        var bob = await Server.CreateUserAsync("agb");
        await using var bobClient = await Server.ConnectAsync(bob);
        await using var raw = await RawClient.ConnectAsync(Server.WebSocketUri);
        await raw.HelloAsync(await Server.IssueTokenAsync(alice, "raw"), "raw");
        await Wait.UntilAsync(() => Backlog.Outstanding == 0, "no work outstanding before");
        Assert.Equal(SendAgeServerFixture.MaxAge, Backlog.MaxAge);
        const int Stalled = 40;
        const int Late = 10;
        var ids = Enumerable.Range(1, Stalled + Late + Late).Select(i => $"age-{i}-{Guid.NewGuid():N}"[..30]).ToArray();
        await using var aliceClient = await Server.ConnectAsync(alice, "sdk", Platform.Ios); // beside the raw one (not displacing it)
        var sdkId = $"age-sdk-{Guid.NewGuid():N}"[..30];
        var refused0 = Backlog.Refused;

        // The pipeline stalls (every commit waits 6 s): 40 sends are admitted and wait, older and older (on a loaded machine
        // the last of them may already find the first ones past the bound: those are refused busy too).
        Task<SendReceipt> sdkSend;
        int admittedStalled;
        SlowCommitStore.Delay = TimeSpan.FromSeconds(6);
        try
        {
            for (var i = 0; i < Stalled; i++)
            {
                await raw.SendAsync(OneWaySendTests.Send((uint)(i + 1), bob, ids[i]));
            }

            await Wait.UntilAsync(
                () => Backlog.Outstanding + (Backlog.Refused - refused0) == Stalled,
                () => $"the stalled sends were admitted or refused: outstanding {Backlog.Outstanding}, refused {Backlog.Refused - refused0}, old {Backlog.OldSends}, pending {Server.Services.GetRequiredService<SendAnswers>().Pending}");
            admittedStalled = Backlog.Outstanding;
            Assert.True(admittedStalled >= SendBacklog.AgeTolerance, $"only {admittedStalled} admitted");
            await Task.Delay(SendAgeServerFixture.MaxAge);
            await Wait.UntilAsync(() => Backlog.RefreshAge(), "the stalled sends are older than the bound");
            Assert.True(Backlog.OldSends >= SendBacklog.AgeTolerance, $"{Backlog.OldSends} old sends");

            // Far below the count bound, yet every new send is refused busy, before any work.
            var refused1 = Backlog.Refused;
            for (var i = Stalled; i < Stalled + Late; i++)
            {
                await raw.SendAsync(OneWaySendTests.Send((uint)(i + 1), bob, ids[i]));
            }

            await Wait.UntilAsync(() => Backlog.Refused - refused1 == Late, "the late sends were refused");
            Assert.Equal(admittedStalled, Backlog.Outstanding);

            // The SDK's send is refused busy too, and it retries after the retry-after (100–300 ms) under its id.
            sdkSend = aliceClient.SendTextAsync(bob, "sdk", sdkId);
            await Wait.UntilAsync(() => Backlog.Refused - refused1 >= Late + 2, "the SDK's send was refused and retried");
            Assert.False(sdkSend.IsCompleted);
            Assert.Equal(admittedStalled, Backlog.Outstanding);
        }
        finally
        {
            SlowCommitStore.Delay = null;
        }

        // The pipeline drains: every admitted send is acked, every other answer was a busy refusal (the late ones all), the
        // SDK's retry is admitted and acked once, and the bound admits sends again.
        var answers = await OneWaySendTests.ReceiveAnswersAsync(raw, Stalled + Late);
        var busyIds = answers.Where(a => a.Value.BodyCase == ServerFrame.BodyOneofCase.Error).Select(a => ids[a.Key - 1]).ToList();
        Assert.All(answers.Values.Where(a => a.BodyCase == ServerFrame.BodyOneofCase.Error), b =>
        {
            Assert.Equal(ErrorCode.Unavailable, b.Error.Code);
            Assert.Equal(SendBacklog.BusyMessage, b.Error.Message);
            Assert.InRange(b.Error.RetryAfterMs, 100u, 300u);
        });
        Assert.All(Enumerable.Range(Stalled + 1, Late), i => Assert.Equal(ServerFrame.BodyOneofCase.Error, answers[(uint)i].BodyCase));
        Assert.Equal(admittedStalled, answers.Count(a => a.Value.BodyCase == ServerFrame.BodyOneofCase.SendAck));
        var sdkReceipt = await sdkSend;
        Assert.False(sdkReceipt.Duplicate);
        await Wait.UntilAsync(() => Backlog.Outstanding == 0 && !Backlog.RefreshAge(), "the drained sends no longer count");
        for (var i = Stalled + Late; i < ids.Length; i++)
        {
            await raw.SendAsync(OneWaySendTests.Send((uint)(i + 1), bob, ids[i]));
        }

        var admitted = await OneWaySendTests.ReceiveAnswersAsync(raw, Late);
        Assert.All(admitted.Values, a => Assert.Equal(ServerFrame.BodyOneofCase.SendAck, a.BodyCase));
        var refusedInAll = Backlog.Refused - refused0;

        // The refused ones, retried under their ids, are stored once; nothing is lost or doubled; seqs gapless.
        var retried = await Task.WhenAll(busyIds.Select(id => aliceClient.SendTextAsync(bob, "x", id)));
        Assert.All(retried, r => Assert.False(r.Duplicate));
        var history = await bobClient.GetHistoryAsync(retried[0].ConversationId, 0, Direction.Forward, 200);
        Assert.Equal(refusedInAll, Backlog.Refused - refused0); // nothing refused once drained
        Assert.Equal(Enumerable.Range(1, ids.Length + 1).Select(i => (ulong)i), history.Messages.Select(m => m.Seq));
        Assert.Equal(ids.Append(sdkId).Order(), history.Messages.Select(m => m.ClientMsgId).Order());
        Assert.Single(history.Messages, m => m.ClientMsgId == sdkId && m.Seq == sdkReceipt.Seq);
        var acked = answers.Values.Where(a => a.BodyCase == ServerFrame.BodyOneofCase.SendAck).Concat(admitted.Values).Select(a => a.SendAck).ToList();
        Assert.All(acked, a => Assert.Single(history.Messages, m => m.Seq == a.Seq && m.ServerMsgId == a.ServerMsgId));
        await Wait.UntilAsync(() => Backlog.Outstanding == 0, "every send's work was released");
    }
}

/// <summary>The real store, except that its commits wait <see cref="Delay"/> first while it is set (a slow grain).</summary>
public class SlowCommitStore : DispatchProxy
{
    /// <summary>The tests that set <see cref="Delay"/> (process-wide) run one class at a time.</summary>
    public const string Collection = "slow commit store";

    private static long _delayTicks; // 0: none

    public static TimeSpan? Delay
    {
        get => Interlocked.Read(ref _delayTicks) is var ticks and > 0 ? TimeSpan.FromTicks(ticks) : null;
        set => Interlocked.Exchange(ref _delayTicks, value?.Ticks ?? 0);
    }

    private IMessageStore _inner = null!;

    /// <summary>A test server with <paramref name="settings"/> whose message store is the real one, wrapped.</summary>
    public static Task<TestServer> StartServerAsync(IDictionary<string, string?> settings) =>
        TestServer.StartAsync(settings, builder =>
        {
            var registered = builder.Services.Last(d => d.ServiceType == typeof(IMessageStore));
            builder.Services.Replace(ServiceDescriptor.Singleton<IMessageStore>(sp =>
                Wrap((IMessageStore)(registered.ImplementationFactory?.Invoke(sp) ?? registered.ImplementationInstance
                    ?? ActivatorUtilities.CreateInstance(sp, registered.ImplementationType!)))));
        });

    public static IMessageStore Wrap(IMessageStore inner)
    {
        var proxy = Create<IMessageStore, SlowCommitStore>();
        ((SlowCommitStore)(object)proxy)._inner = inner;
        return proxy;
    }

    protected override object? Invoke(MethodInfo? targetMethod, object?[]? args)
    {
        if (targetMethod!.Name == nameof(IMessageStore.CommitAsync) && Delay is { } delay)
        {
            return DelayedAsync(delay, targetMethod, args);
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

    private async Task DelayedAsync(TimeSpan delay, MethodInfo method, object?[]? args)
    {
        await Task.Delay(delay);
        await (Task)method.Invoke(_inner, args)!;
    }
}

/// <summary>
/// ADR 0035's count bound derived from the drain rate (stop 48), on <see cref="SendBacklog"/> itself: the sends answered per
/// second times the age bound, within <c>MinOutstandingSends</c> .. <c>MaxOutstandingSends</c>; the fixed count without
/// the age bound.
/// </summary>
public sealed class SendBacklogDrainRateTests
{
    private static SendBacklog Create(int floor, int ceiling, TimeSpan maxAge)
    {
        var meters = new ServiceCollection().AddMetrics().BuildServiceProvider().GetRequiredService<System.Diagnostics.Metrics.IMeterFactory>();
        return new SendBacklog(
            Microsoft.Extensions.Options.Options.Create(new Parley.Core.MessagingOptions { MinOutstandingSends = floor, MaxOutstandingSends = ceiling, MaxOutstandingSendAge = maxAge }),
            new Parley.Core.Telemetry.ParleyMetrics(meters),
            Microsoft.Extensions.Logging.Abstractions.NullLogger<SendBacklog>.Instance);
    }

    [Fact]
    public async Task CountBound_IsTheDrainRateTimesTheAgeBound_TheCeilingAfterAQuietGap_TheFloorWhenNothingDrains()
    {
        var backlog = Create(floor: 50, ceiling: 1_000_000, maxAge: TimeSpan.FromSeconds(1));
        Assert.Equal(1_000_000, backlog.CurrentLimit); // nothing measured yet: the ceiling

        // Sends answered at once, for 2.5 s: two samples of the drain rate (one a second).
        var watch = System.Diagnostics.Stopwatch.StartNew();
        long answered = 0;
        while (watch.ElapsedMilliseconds < 2_500)
        {
            for (var i = 0; i < 50; i++)
            {
                Assert.True(backlog.TryEnter(out var stamp));
                backlog.Exit(stamp);
                answered++;
            }

            await Task.Delay(5);
        }

        Assert.True(backlog.DrainRate > 0 && backlog.DrainRate <= answered * 1_000.0 / 900, $"drain {backlog.DrainRate}/s, {answered} answered in {watch.ElapsedMilliseconds} ms");
        Assert.Equal((int)Math.Clamp(backlog.DrainRate * 1.0, 50, 1_000_000), backlog.CurrentLimit);
        Assert.True(backlog.CurrentLimit > 50, $"limit {backlog.CurrentLimit}");

        // Quiet for more than 5 s: the drain is unknown again, the bound the ceiling (the next load is not refused at the floor).
        await Task.Delay(5_200);
        Assert.True(backlog.TryEnter(out _));
        Assert.Equal(1_000_000, backlog.CurrentLimit);
        Assert.Equal(0, backlog.DrainRate);

        // Admissions and nothing answered for more than a second: a drain of 0, the bound is the floor; past it, refused.
        watch.Restart();
        var admitted = 1;
        while (watch.ElapsedMilliseconds < 1_300 || backlog.CurrentLimit != 50)
        {
            for (var i = 0; i < 10; i++)
            {
                admitted += backlog.TryEnter(out _) ? 1 : 0;
            }

            Assert.True(watch.ElapsedMilliseconds < 10_000, $"bound {backlog.CurrentLimit}, drain {backlog.DrainRate}");
            await Task.Delay(100);
        }

        Assert.Equal(0, backlog.DrainRate);
        Assert.True(admitted > 50, $"{admitted} admitted");
        var refused0 = backlog.Refused;
        Assert.False(backlog.TryEnter(out _));
        Assert.Equal(refused0 + 1, backlog.Refused);
        Assert.Equal(admitted, backlog.Outstanding);
    }

    [Fact]
    public void WithoutTheAgeBound_TheCountBoundIsFixed()
    {
        var backlog = Create(floor: 5, ceiling: 20, maxAge: TimeSpan.Zero);
        for (var i = 0; i < 20; i++)
        {
            Assert.True(backlog.TryEnter());
        }

        Assert.False(backlog.TryEnter());
        Assert.Equal(20, backlog.CurrentLimit);
    }
}
