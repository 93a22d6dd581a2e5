using Microsoft.Extensions.DependencyInjection;
using Parley.Abstractions.Messaging;
using Parley.Core.Push;
using Parley.Protocol.V1;
using ConversationKind = Parley.Abstractions.Messaging.ConversationKind;
using GroupKind = Parley.Protocol.V1.GroupKind;

namespace Parley.IntegrationTests;

/// <summary>
/// Issue 12: in the loaded 100,000-member run, 112 super-group sends waited for Orleans' 30 s response timeout. A send's
/// ack waits for its commit and for the dispatch (fan-out) of everything the node committed before it, so an overloaded
/// node queued sends without bound. These tests hold the node's dispatch loop (the commit is durable, the fan-out does not
/// finish), as an overloaded fan-out does, and check that a super-group send is answered with a typed error instead.
/// </summary>
public sealed class SuperGroupOverloadTests
{
    [Fact]
    public async Task SuperGroupSend_WhileDispatchIsHeld_IsAnsweredUnavailable_NewSendsAreRefusedUnstored_AndTheRetryGetsTheAck()
    {
        var gate = new DispatchGate();
        await using var server = await TestServer.StartAsync(
            new Dictionary<string, string?>
            {
                ["Parley:Messaging:SuperGroupSendQueueLimit"] = "00:00:01",
                ["Parley:Messaging:SuperGroupSendAckTimeout"] = "00:00:03",
            },
            builder => builder.Services.AddSingleton<IMessageCommittedObserver>(gate));
        try
        {
            var owner = await server.CreateUserAsync("own");
            var member = await server.CreateUserAsync("mem");
            var ownerClient = await server.ConnectAsync(owner);
            var group = await ownerClient.CreateGroupAsync(new CreateGroupRequest { Name = "busy", Kind = GroupKind.Super, MemberIds = { member } });
            await using var raw = await RawClient.ConnectAsync(server.WebSocketUri);
            await raw.HelloAsync(await server.IssueTokenAsync(owner, "raw"), "raw");

            // The first send commits, but its dispatch (and so its ack) is held, as behind an overloaded fan-out.
            gate.Close();
            await raw.SendAsync(Send(10, "first", group.ConversationId));
            await Wait.UntilAsync(() => gate.Held > 0, "the first message's dispatch is held");

            // Answered with a typed error once the ack timeout (3 s here) passed, not by Orleans' 30 s response timeout
            // (before the fix: an INTERNAL error after 30 s). The message may still be stored.
            var first = await AnswerAsync(raw, 10, TimeSpan.FromSeconds(60));
            Assert.True(
                first.Error?.Code == ErrorCode.Unavailable && first.Error.Message.Contains("may still be", StringComparison.Ordinal),
                $"the held send should be answered UNAVAILABLE (may still be stored), was {first}");

            // A new send while the first still waits (longer than the 1 s queue limit) is refused before it takes a seq.
            await raw.SendAsync(Send(11, "second", group.ConversationId));
            var second = await AnswerAsync(raw, 11, TimeSpan.FromSeconds(60));
            Assert.True(
                second.Error?.Code == ErrorCode.Unavailable && second.Error.Message.Contains("nothing was stored", StringComparison.Ordinal),
                $"a send behind the held one should be refused UNAVAILABLE (nothing stored), was {second}");

            // The fan-out catches up: the retry of the first send under its client message id gets its ack, once.
            gate.Open();
            await raw.SendAsync(Send(12, "first", group.ConversationId));
            var retried = await AnswerAsync(raw, 12, TimeSpan.FromSeconds(60));
            Assert.True(retried.SendAck is { Duplicate: true }, $"the retry of the first send should get its original ack, was {retried}");
            await raw.SendAsync(Send(13, "third", group.ConversationId));
            var third = await AnswerAsync(raw, 13, TimeSpan.FromSeconds(60));
            Assert.True(third.SendAck is not null, $"the third send should be acknowledged, was {third}");
            Assert.Equal(retried.SendAck.Seq + 1, third.SendAck.Seq);

            // What a member sees: the first and the third, gapless; the refused send was never stored.
            var memberClient = await server.ConnectAsync(member);
            var texts = (await memberClient.GetHistoryAsync(group.ConversationId, 0, Direction.Backward, 50)).Messages
                .Where(m => m.Content.BodyCase == Content.BodyOneofCase.Text).Select(m => m.Content.Text.Text).ToArray();
            Assert.Equal(["first", "third"], texts);
        }
        finally
        {
            gate.Open();
        }
    }

    private static ClientFrame Send(uint requestId, string clientMsgId, string conversationId) => new()
    {
        RequestId = requestId,
        Send = new SendRequest { ClientMsgId = clientMsgId, Target = new Target { ConversationId = conversationId }, Content = new Content { Text = new TextContent { Text = clientMsgId } } },
    };

    private static async Task<ServerFrame> AnswerAsync(RawClient raw, uint requestId, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            var left = deadline - DateTime.UtcNow;
            Assert.True(left > TimeSpan.Zero, $"no answer to request {requestId} within {timeout}");
            var frame = await raw.ReceiveAsync(left) ?? throw new InvalidOperationException($"the server closed before answering request {requestId}");
            if (frame.RequestId == requestId)
            {
                return frame;
            }
        }
    }

    /// <summary>Holds the node's commit dispatch loop on a super-group message while closed (bounded, so a failing test ends).</summary>
    private sealed class DispatchGate : IMessageCommittedObserver
    {
        private TaskCompletionSource? _closed;
        private int _held;

        public int Held => Volatile.Read(ref _held);

        public void Close() => Volatile.Write(ref _closed, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));

        public void Open() => Interlocked.Exchange(ref _closed, null)?.TrySetResult();

        public void OnMessageCommitted(StoredMessage message, IReadOnlyList<string> recipients, ConversationKind kind, string conversationName)
        {
        }

        public void OnReadDiffusionMessageCommitted(StoredMessage message, string conversationName, string? replyRootSenderId)
        {
            if (Volatile.Read(ref _closed) is { } closed)
            {
                Interlocked.Increment(ref _held);
                closed.Task.Wait(TimeSpan.FromMinutes(2));
            }
        }
    }
}
