using Microsoft.Extensions.DependencyInjection;
using Orleans.Serialization;
using Parley.Core.Messaging;

namespace Parley.Core.Tests;

/// <summary>A send's ack inside its result: one object (issue 17, stop 47), and the same values across nodes.</summary>
public sealed class MessageAckTests
{
    private static readonly MessageAck Ack = new("si_a_b", 7, "0192f0a1b2c37d4e8f9a0b1c2d3e4f50", 1_700_000_000_123, false, 42);

    [Fact]
    public void MessageAck_Success_IsOneObject_NotAnAckAndAResult()
    {
        // Until stop 47 a one-way send's answer was a MessageAck (64 B) and the CoreResult around it (40 B).
        _ = CoreResult.Success(Ack); // JIT first
        var before = GC.GetAllocatedBytesForCurrentThread();
        var result = CoreResult.Success(new MessageAck(Ack.ConversationId, 8, Ack.ServerMsgId, Ack.ServerTime, false, 43));
        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        Assert.True(result.IsOk);
        Assert.Equal(8, result.Value.Seq);
        Assert.True(allocated <= 80, $"a send's result with its ack allocated {allocated} B");
    }

    [Fact]
    public void MessageAck_InItsResult_CrossesANodeIntact()
    {
        // A one-way send's answer to another node (SendAnswer) and a request/response send's result are serialized by Orleans.
        using var services = new ServiceCollection().AddSerializer(builder => builder.AddAssembly(typeof(MessageAck).Assembly)).BuildServiceProvider();
        var serializer = services.GetRequiredService<Serializer>();

        var ok = serializer.Deserialize<CoreResult<MessageAck>>(serializer.SerializeToArray(CoreResult.Success(Ack with { Duplicate = true })));
        Assert.True(ok!.IsOk);
        Assert.Equal(Ack with { Duplicate = true }, ok.Value);

        CoreResult<MessageAck> refusal = CoreResult.Fail(CoreError.Blocked, "One of the users blocked the other.");
        var refused = serializer.Deserialize<CoreResult<MessageAck>>(serializer.SerializeToArray(refusal));
        Assert.False(refused!.IsOk);
        Assert.Equal(CoreError.Blocked, refused.Error);
        Assert.Equal("One of the users blocked the other.", refused.Message);
        Assert.Equal(default, refused.Value);

        var route = new AckRoute("node-1", 77);
        var answer = serializer.Deserialize<MessageAck?>(serializer.SerializeToArray<MessageAck?>(Ack));
        Assert.Equal(Ack, answer);
        Assert.Equal(route, serializer.Deserialize<AckRoute>(serializer.SerializeToArray(route)));
    }
}
