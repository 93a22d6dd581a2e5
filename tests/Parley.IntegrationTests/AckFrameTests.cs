using System.Buffers;
using Google.Protobuf;
using Parley.Gateway.Protocols;
using Parley.Protocol.V1;

namespace Parley.IntegrationTests;

/// <summary>
/// A send's ack written from its fields (issue 17) is byte for byte the frame the generated protobuf code writes for the
/// same values: ids with multi-byte characters and long lengths, zero and extreme numbers, a duplicate, no request id.
/// </summary>
public sealed class AckFrameTests
{
    public static TheoryData<uint, string, ulong, string, long, bool, ulong> Acks => new()
    {
        { 7u, "si_alice_bob", 1ul, Guid.NewGuid().ToString("N"), 1_700_000_000_000, false, 42ul },
        { uint.MaxValue, "sg_g-é✓-中", ulong.MaxValue, "m", long.MaxValue, true, ulong.MaxValue },
        { 1u, "si_a_b", 127ul, "x", -5, false, 128ul },
        { 0u, "si_a_b", 300ul, "y", 1, true, 1ul },
        { 128u, "", 0ul, "", 0, false, 0ul },
        { 16_384u, new string('c', 200), 16_384ul, new string('s', 16_400), long.MinValue, true, 0ul },
    };

    [Theory]
    [MemberData(nameof(Acks))]
    public void Rent_IsWhatTheGeneratedCodeWrites(uint requestId, string conversationId, ulong seq, string serverMsgId, long serverTime, bool duplicate, ulong version)
    {
        var expected = new ServerFrame
        {
            RequestId = requestId,
            SendAck = new SendAck { ConversationId = conversationId, Seq = seq, ServerMsgId = serverMsgId, ServerTime = serverTime, Duplicate = duplicate, Version = version },
        };

        var buffer = AckFrame.Rent(requestId, conversationId, seq, serverMsgId, serverTime, duplicate, version, out var length);
        try
        {
            Assert.Equal(expected.ToByteArray(), buffer.AsSpan(0, length).ToArray());
            Assert.Equal(expected, ServerFrame.Parser.ParseFrom(buffer, 0, length));
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }
}
