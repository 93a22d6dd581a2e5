using System.Text;
using Google.Protobuf;
using Parley.Core.Internal;
using Parley.Core.Messaging;
using Parley.Protocol;
using Parley.Protocol.V1;

namespace Parley.Core.Tests;

/// <summary>
/// ADR 0027: a text send read straight from its frame. Whatever the reader accepts, protobuf's parser reads the same
/// request id, client message id and target, and the content's bytes are exactly what <see cref="ProtoMapper.Serialize"/>
/// writes for the parsed content (so the stored row and the size limits are as before); what it refuses goes the protobuf
/// way unchanged.
/// </summary>
public sealed class SendFrameReaderTests
{
    private static readonly string[] AcceptedKinds = ["text", "conversation", "mentions", "mention-all", "unicode", "long", "max-request-id", "no-client-id"];

    public static TheoryData<string> Accepted
    {
        get
        {
            var data = new TheoryData<string>();
            foreach (var kind in AcceptedKinds)
            {
                data.Add(kind);
            }

            return data;
        }
    }

    public static TheoryData<string> Refused =>
    [
        "reply", "custom", "image", "empty-text", "no-request-id", "ping", "no-target", "empty-target", "no-content",
        "unknown-in-content", "unknown-in-text", "unknown-in-send", "unknown-in-frame", "out-of-order", "repeated-text",
        "padded-varint", "mention-all-false", "bad-utf8-text", "bad-utf8-id", "bad-utf8-target", "bad-utf8-mention", "trailing",
        "truncated",
    ];

    [Theory]
    [MemberData(nameof(Accepted))]
    public void TryRead_CanonicalTextSend_ReadsWhatProtobufReads(string kind)
    {
        var frame = Make(kind);

        Assert.True(SendFrameReader.TryRead(frame, out var requestId, out var clientMsgId, out var target, out var content));

        AssertSameAsProtobuf(frame, requestId, clientMsgId, target, content);
    }

    [Theory]
    [MemberData(nameof(Refused))]
    public void TryRead_AnythingElse_RefusedForTheProtobufPath(string kind)
    {
        Assert.False(SendFrameReader.TryRead(Make(kind), out _, out _, out _, out _));
    }

    [Fact]
    public void TryRead_MutatedFrames_WhateverIsAcceptedIsWhatProtobufReads()
    {
        // Random corruptions of canonical frames (bytes changed, inserted, removed, truncated): the reader must never accept
        // a frame that protobuf reads differently or whose content bytes differ from the serialised parse.
        var random = new Random(27);
        var seeds = AcceptedKinds.Select(Make).ToArray();
        var accepted = 0;
        for (var i = 0; i < 30_000; i++)
        {
            var frame = seeds[random.Next(seeds.Length)].ToList();
            for (var edits = random.Next(1, 3); edits > 0 && frame.Count > 0; edits--)
            {
                var at = random.Next(frame.Count);
                switch (random.Next(4))
                {
                    case 0: frame[at] = (byte)random.Next(256); break;
                    case 1: frame.Insert(at, (byte)random.Next(256)); break;
                    case 2: frame.RemoveAt(at); break;
                    default: frame.RemoveRange(at, frame.Count - at); break;
                }
            }

            var bytes = frame.ToArray();
            if (SendFrameReader.TryRead(bytes, out var requestId, out var clientMsgId, out var target, out var content))
            {
                accepted++;
                AssertSameAsProtobuf(bytes, requestId, clientMsgId, target, content);
            }
        }

        // Not vacuous: mutations inside the texts and ids keep many frames canonical.
        Assert.True(accepted > 1_000, $"{accepted} mutated frames accepted");
    }

    [Fact]
    public void TryRead_TheFramesBufferReused_EachContentIntact()
    {
        // The content is copied out of the frame (a receive buffer is rented and reused): two sends read from one buffer in
        // turn keep their own bytes, and overwriting the buffer changes neither.
        var buffer = new byte[4096];
        var first = Make("mentions");
        var second = Make("unicode");

        first.CopyTo(buffer, 0);
        Assert.True(SendFrameReader.TryRead(buffer.AsSpan(0, first.Length), out _, out _, out _, out var a));
        second.CopyTo(buffer, 0);
        Assert.True(SendFrameReader.TryRead(buffer.AsSpan(0, second.Length), out _, out _, out _, out var b));
        Array.Fill(buffer, (byte)0xEE);

        Assert.Equal(ClientFrame.Parser.ParseFrom(first).Send.Content.ToByteArray(), a.Content);
        Assert.Equal(ClientFrame.Parser.ParseFrom(second).Send.Content.ToByteArray(), b.Content);
        Assert.Equal("@b @c @all hello", Encoding.UTF8.GetString(a.Text));
        Assert.NotSame(a.Content, b.Content);
    }

    private static void AssertSameAsProtobuf(byte[] frame, uint requestId, string clientMsgId, Target target, TextContentBytes content)
    {
        var parsed = ClientFrame.Parser.ParseFrom(frame);
        Assert.Equal(ClientFrame.BodyOneofCase.Send, parsed.BodyCase);
        Assert.Equal(parsed.RequestId, requestId);
        Assert.NotEqual(0u, requestId);
        Assert.Equal(parsed.Send.ClientMsgId, clientMsgId);
        Assert.Equal(parsed.Send.Target, target);

        var expected = parsed.Send.Content;
        Assert.Equal(Content.BodyOneofCase.Text, expected.BodyCase);
        Assert.Null(MessagingService.CheckContent(expected));
        Assert.Equal(ProtoMapper.Serialize(expected), content.Content);
        Assert.Equal(expected, content.Parse());
        Assert.Equal(expected.Text.Text, Encoding.UTF8.GetString(content.Text));
        Assert.Equal(expected.Text.MentionUserIds, content.MentionUserIds);
        Assert.Equal(expected.Text.MentionAll, content.MentionAll);
    }

    private static byte[] Send(Content content, uint requestId = 7, string clientMsgId = "m-1", Target? target = null) =>
        new ClientFrame
        {
            RequestId = requestId,
            Send = new SendRequest { ClientMsgId = clientMsgId, Target = target ?? new Target { UserId = "bob" }, Content = content },
        }.ToByteArray();

    private static Content Text(string text) => new() { Text = new TextContent { Text = text } };

    private static byte[] Make(string kind) => kind switch
    {
        "text" => Send(Text("hello there")),
        "conversation" => Send(Text("to the group"), target: new Target { ConversationId = "g_0192f1c3d4e5" }),
        "mentions" => Send(new Content { Text = new TextContent { Text = "@b @c @all hello", MentionUserIds = { "b", "c", "b", "" }, MentionAll = true } }),
        "mention-all" => Send(new Content { Text = new TextContent { Text = "@all", MentionAll = true } }),
        "unicode" => Send(Text(new string('é', 200) + "😀 ünïcødé 明天")),
        "long" => Send(Text(new string('x', 20_000))),
        "max-request-id" => Send(Text("x"), requestId: uint.MaxValue),
        "no-client-id" => Send(Text("x"), clientMsgId: ""),

        "reply" => Send(new Content { Text = new TextContent { Text = "yes" }, ReplyTo = new ReplyTo { Seq = 3 } }),
        "custom" => Send(new Content { Custom = new CustomContent { Type = "card", Json = "{}" } }),
        "image" => Send(new Content { Image = new ImageContent { ObjectId = new string('a', 32) } }),
        "empty-text" => Send(new Content { Text = new TextContent() }),
        "no-request-id" => Send(Text("x"), requestId: 0),
        "ping" => new ClientFrame { RequestId = 1, Ping = new Ping() }.ToByteArray(),
        "no-target" => new ClientFrame { RequestId = 1, Send = new SendRequest { ClientMsgId = "m", Content = Text("x") } }.ToByteArray(),
        "empty-target" => Send(Text("x"), target: new Target()),
        "no-content" => new ClientFrame { RequestId = 1, Send = new SendRequest { ClientMsgId = "m", Target = new Target { UserId = "b" } } }.ToByteArray(),

        // Written by hand: what protobuf reads (and often reads the same), but not as its serialiser writes it.
        "unknown-in-content" => Send(Content.Parser.ParseFrom([.. Text("x").ToByteArray(), 0xA0, 0x06, 0x2A])),
        "unknown-in-text" => Send(new Content { Text = TextContent.Parser.ParseFrom([.. new TextContent { Text = "x" }.ToByteArray(), 0x20, 0x01]) }),
        "unknown-in-send" => Frame(1, Field(1, "m"u8), Field(2, Field(1, "bob"u8)), Field(3, Field(1, Field(1, "x"u8))), [0x20, 0x01]),
        "unknown-in-frame" => [.. Send(Text("x")), 0x10, 0x01],
        "out-of-order" => Frame(1, Field(2, Field(1, "bob"u8)), Field(1, "m"u8), Field(3, Field(1, Field(1, "x"u8)))),
        "repeated-text" => Frame(1, Field(1, "m"u8), Field(2, Field(1, "bob"u8)), Field(3, Field(1, [.. Field(1, "x"u8), .. Field(1, "y"u8)]))),
        "padded-varint" => [0x08, 0x81, 0x00, .. Send(Text("x")).Skip(2)],
        "mention-all-false" => Frame(1, Field(1, "m"u8), Field(2, Field(1, "bob"u8)), Field(3, Field(1, [.. Field(1, "x"u8), 0x18, 0x00]))),
        "bad-utf8-text" => Frame(1, Field(1, "m"u8), Field(2, Field(1, "bob"u8)), Field(3, Field(1, Field(1, [0x61, 0xC3, 0x28])))),
        "bad-utf8-id" => Frame(1, Field(1, [0xFF]), Field(2, Field(1, "bob"u8)), Field(3, Field(1, Field(1, "x"u8)))),
        "bad-utf8-target" => Frame(1, Field(1, "m"u8), Field(2, Field(1, [0xED, 0xA0, 0x80])), Field(3, Field(1, Field(1, "x"u8)))),
        "bad-utf8-mention" => Frame(1, Field(1, "m"u8), Field(2, Field(1, "bob"u8)), Field(3, Field(1, [.. Field(1, "x"u8), .. Field(2, [0xC0, 0x80])]))),
        "trailing" => [.. Send(Text("x")), 0x00],
        _ => Send(Text("hello there"))[..^2],
    };

    private static byte[] Frame(uint requestId, params byte[][] sendFields) =>
        [0x08, .. Varint(requestId), 0x62, .. Length(sendFields.SelectMany(f => f).ToArray())];

    private static byte[] Field(int number, ReadOnlySpan<byte> value) => [(byte)((number << 3) | 2), .. Length(value.ToArray())];

    private static byte[] Length(byte[] value) => [.. Varint((ulong)value.Length), .. value];

    private static byte[] Varint(ulong value)
    {
        var bytes = new List<byte>();
        do
        {
            var b = (byte)(value & 0x7F);
            value >>= 7;
            bytes.Add(value == 0 ? b : (byte)(b | 0x80));
        }
        while (value != 0);
        return [.. bytes];
    }
}
