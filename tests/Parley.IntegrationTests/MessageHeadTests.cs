using Google.Protobuf;
using Parley.Abstractions.Messaging;
using Parley.Core.Internal;
using Parley.Gateway.Protocols;
using Parley.Protocol.V1;

namespace Parley.IntegrationTests;

/// <summary>
/// A message head written straight from the stored row (issue 17) is byte for byte the head the generated protobuf code
/// writes, and a live message frame built with it parses to the message built the protobuf way.
/// </summary>
public sealed class MessageHeadTests
{
    public static TheoryData<string, long, string, string, string, long, bool, long> Rows => new()
    {
        { "si_alice_bob", 1, Guid.NewGuid().ToString("N"), "alice", "c-1", 1_700_000_000_000, false, 1 },
        { "gr_g1", 300, "m", "bob", "client-é✓-中", 1, true, 16_384 },
        { "si_a_b", long.MaxValue, "x", "a", "", -5, false, long.MaxValue },
        { "", 0, "", "", "", 0, false, 0 },
        { new string('c', 200), 128, new string('s', 129), new string('u', 16_400), "k", 127, true, 0 },
    };

    [Theory]
    [MemberData(nameof(Rows))]
    public void Write_IsWhatTheGeneratedCodeWrites(string conversationId, long seq, string serverMsgId, string senderId, string clientMsgId, long serverTime, bool revoked, long version)
    {
        var row = new StoredMessage(conversationId, seq, serverMsgId, senderId, clientMsgId, serverTime, 1, new Content { Text = new TextContent { Text = "hi" } }.ToByteArray(), revoked, version);
        Assert.True(MessageHead.Applies(row));
        var expected = ProtoMapper.ToProto(row, withContent: false).ToByteArray();
        var buffer = new byte[expected.Length + 8];
        Assert.Equal(expected.Length, MessageHead.Size(row));
        Assert.Equal(3 + expected.Length, MessageHead.Write(buffer, 3, row));
        Assert.Equal(expected, buffer.AsSpan(3, expected.Length).ToArray());

        // The live frame (head from the row, stored content spliced in) parses to the message built from parsed content.
        var frame = ServerFrame.Parser.ParseFrom(NativeProtocol.EncodeMessage(row));
        Assert.Equal(new ServerFrame { Message = ProtoMapper.ToProto(row) }, frame);
    }

    [Fact]
    public void Applies_OnlyToAMessageWithoutAnnotations()
    {
        var row = new StoredMessage("si_a_b", 1, "m", "a", "c", 1, 1, [], false, 1);
        Assert.True(MessageHead.Applies(row with { Annotations = [] }));
        Assert.False(MessageHead.Applies(row with { Annotations = [8, 1] }));
    }
}
