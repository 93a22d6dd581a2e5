using Google.Protobuf;
using Parley.Abstractions.Messaging;
using Parley.Core.Internal;
using Parley.Core.Messaging;
using Parley.Gateway.Protocols;
using Parley.Protocol.V1;

namespace Parley.IntegrationTests;

/// <summary>
/// The connect-time sync's frame with the stored content spliced in (issue 17) parses to exactly the SyncBatch built the
/// protobuf way from parsed content, for every kind of row the store returns.
/// </summary>
public sealed class SyncBatchEncoderTests
{
    private const string Viewer = "u_viewer";

    [Fact]
    public void Encode_ParsesToTheSyncBatchBuiltFromParsedContent()
    {
        var random = new Random(17);
        var encoder = new SyncBatchEncoder();
        var expected = new SyncBatch();
        for (var c = 0; c < 12; c++)
        {
            var conversationId = $"g_conv{c}";
            var messages = new List<StoredMessage>();
            for (var seq = 1; seq <= c * 3; seq++)
            {
                messages.Add(Row(random, conversationId, seq));
            }

            var head = new ConversationSync
            {
                Conversation = new Conversation { ConversationId = conversationId, Name = $"group {c}", MaxSeq = (ulong)messages.Count },
                Truncated = c % 3 == 0,
            };
            var item = head.Clone();
            foreach (var m in messages)
            {
                item.Messages.Add(ProtoMapper.ToProto(m, viewer: Viewer));
            }

            expected.Conversations.Add(item);
            encoder.Add(head, messages, Viewer);
            Assert.Equal(expected.Conversations.Sum(x => x.CalculateSize()), encoder.Size);
        }

        var (buffer, length) = encoder.Encode();
        var frame = ServerFrame.Parser.ParseFrom(buffer, 0, length);
        Assert.Equal(new ServerFrame { SyncBatch = expected }, frame);
        Assert.Equal(new ServerFrame { SyncBatch = expected }.CalculateSize(), length);

        // The encoder starts a new batch after Encode.
        Assert.Equal(0, encoder.Count);
        Assert.Equal(0, encoder.Size);
        encoder.Add(new ConversationSync { Conversation = new Conversation { ConversationId = "si_a_b" } }, [Row(random, "si_a_b", 1)], Viewer);
        var (second, secondLength) = encoder.Encode();
        Assert.Single(ServerFrame.Parser.ParseFrom(second, 0, secondLength).SyncBatch.Conversations);
    }

    // Text of every length class (1-, 2- and 3-byte length varints), a revoked row, an empty content, edits and reactions
    // (including the viewer's), a reply.
    private static StoredMessage Row(Random random, string conversationId, long seq)
    {
        var kind = random.Next(6);
        var text = new string('x', kind switch { 0 => 5, 1 => 200, 2 => 20_000, _ => random.Next(1, 400) }) + "é✓";
        var content = kind == 3 ? [] : new Content { Text = new TextContent { Text = text } }.ToByteArray();
        byte[]? annotations = null;
        if (kind >= 4)
        {
            var a = new MessageAnnotations { EditCount = 2, EditedTime = 1234, ReplyCount = 3 };
            a.Reactions.Add(new StoredReaction { Emoji = "👍", UserIds = { "u_a", Viewer, "u_b" } });
            a.Reactions.Add(new StoredReaction { Emoji = "🎉", UserIds = { "u_c" } });
            annotations = MessageChanges.Write(a);
        }

        return new StoredMessage(conversationId, seq, Guid.NewGuid().ToString("N"), "u_sender", $"c{seq}", 1_700_000_000_000 + seq, 1, content, kind == 5, seq * 10)
        {
            Annotations = annotations,
            ReplyToSeq = seq > 1 && kind == 1 ? seq - 1 : 0,
        };
    }
}
