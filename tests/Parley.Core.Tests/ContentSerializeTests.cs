using Google.Protobuf;
using Parley.Core.Internal;
using Parley.Protocol.V1;

namespace Parley.Core.Tests;

/// <summary>The stored content bytes of a send: written through a span (issue 17), byte for byte what ToByteArray writes.</summary>
public sealed class ContentSerializeTests
{
    public static TheoryData<string> Contents => ["text", "mentions", "reply", "custom", "image", "location", "unknown", "empty-text", "unicode"];

    [Theory]
    [MemberData(nameof(Contents))]
    public void Serialize_AnyContent_WritesTheBytesToByteArrayWrites(string kind)
    {
        var content = Make(kind);
        var expected = content.ToByteArray();

        var bytes = ProtoMapper.Serialize(content);

        Assert.Equal(expected, bytes);
        Assert.Equal(content, Content.Parser.ParseFrom(bytes));
    }

    private static Content Make(string kind) => kind switch
    {
        "text" => new Content { Text = new TextContent { Text = "hello there" } },
        "mentions" => new Content { Text = new TextContent { Text = "@b @c @all", MentionUserIds = { "b", "c" }, MentionAll = true } },
        "reply" => new Content { Text = new TextContent { Text = "yes" }, ReplyTo = new ReplyTo { Seq = 300, ServerMsgId = "0192f1c3d4e5" } },
        "custom" => new Content { Custom = new CustomContent { Type = "card", Json = "{\"a\":[1,2,3],\"b\":\"x\"}" } },
        "image" => new Content { Image = new ImageContent { ObjectId = "obj-1", Width = 4032, Height = 3024, ThumbnailObjectId = "obj-1-t", ThumbnailWidth = 240 } },
        "location" => new Content { Location = new LocationContent { Latitude = 52.52, Longitude = 13.405, Name = "Berlin" } },

        // A newer client's field this server does not know is kept in the stored bytes either way.
        "unknown" => Content.Parser.ParseFrom([.. new Content { Text = new TextContent { Text = "x" } }.ToByteArray(), 0xA0, 0x06, 0x2A]),
        "empty-text" => new Content { Text = new TextContent() },
        _ => new Content { Text = new TextContent { Text = new string('é', 200) + "😀 ünïcødé" } },
    };
}
