using Parley.Compat.OpenIM.Wire;

namespace Parley.Compat.OpenIM.Tests;

/// <summary>
/// OpenIM's max-seq answers (1006 GetConvMaxReadSeq, 1001 GetNewestSeq) are never older than a push already on the wire
/// before them. SDK 0.0.14 replaces its cached seqs with the answer and then counts one up per later push; an answer read
/// from the store before a commit whose push overtook it on the wire left the SDK's max seq one below a message it held,
/// for good (stop 31's CI: after a relogin under load, the SDK's history never showed the newest message).
/// </summary>
public sealed class OpenImMaxSeqOrderTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    private OpenImTestServer Server => fixture.Server;

    [Theory]
    [InlineData(1006)]
    [InlineData(1001)]
    public async Task AMaxSeqAnswer_IsNeverBelowAPushWrittenBeforeIt_WhileMessagesArrive(int reqIdentifier)
    {
        var alice = OpenImUsers.NewId("mq");
        var bob = OpenImUsers.NewId("mr");
        await OpenImUsers.RegisterAsync(Server, alice, bob);
        await using var a = await OpenImWsClient.LoginAsync(Server, alice, await OpenImUsers.TokenAsync(Server, alice));
        var bobClient = await Server.ConnectNativeAsync(await OpenImUsers.TokenAsync(Server, bob, 5));
        await using var bobConnection = bobClient.Client;
        var conversation = OpenImUsers.Direct(alice, bob);

        var sent = 0;
        using var stop = new CancellationTokenSource();
        var sender = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                await bobClient.Client.SendTextAsync(alice, "m" + Interlocked.Increment(ref sent));
            }
        });

        // Many answers while pushes stream in: each one races the commits behind it.
        var answers = 0;
        while (answers < 150 || Volatile.Read(ref sent) < 100)
        {
            var frame = reqIdentifier == 1006
                ? await a.RequestAsync(1006, new GetConversationsHasReadAndMaxSeqReq { UserID = alice })
                : await a.RequestAsync(1001, new GetMaxSeqReq { UserID = alice });
            Assert.True(frame.ErrCode == 0, $"{frame.ErrCode} {frame.ErrMsg}");
            answers++;
        }

        await stop.CancelAsync();
        await sender;
        await Wait.UntilAsync(() => a.Pushed().Count(p => p.ConversationId == conversation) >= sent, "every message pushed", TimeSpan.FromSeconds(60));

        // In wire order: every answer's max seq is at least the highest seq pushed before it.
        long pushedMax = 0;
        var checkedAnswers = 0;
        foreach (var frame in a.Frames.Where(f => !f.Text && f.Data is not null))
        {
            if (frame.ReqIdentifier == 2001)
            {
                var push = PushMessages.Parser.ParseFrom(frame.Data);
                if (push.Msgs.TryGetValue(conversation, out var msgs))
                {
                    pushedMax = Math.Max(pushedMax, msgs.Msgs.Max(m => m.Seq));
                }
            }
            else if (frame.ReqIdentifier == reqIdentifier)
            {
                var maxSeq = reqIdentifier == 1006
                    ? GetConversationsHasReadAndMaxSeqResp.Parser.ParseFrom(frame.Data).Seqs.GetValueOrDefault(conversation)?.MaxSeq ?? 0
                    : GetMaxSeqResp.Parser.ParseFrom(frame.Data).MaxSeqs.GetValueOrDefault(conversation);
                Assert.True(maxSeq >= pushedMax, $"answer {checkedAnswers} says max seq {maxSeq} after seq {pushedMax} was pushed");
                checkedAnswers++;
            }
        }

        Assert.Equal(answers, checkedAnswers);
        Assert.True(pushedMax >= sent, $"pushed up to {pushedMax} of {sent}");
    }
}
