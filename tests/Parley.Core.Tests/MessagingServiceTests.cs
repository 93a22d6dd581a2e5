using Parley.Core.Messaging;
using Parley.Protocol.V1;

namespace Parley.Core.Tests;

/// <summary>The content rules every edge's sends are held to (native and OpenIM alike).</summary>
public sealed class MessagingServiceTests
{
    [Fact]
    public void MessagingService_ClientContent_TextAndCustomJsonOnly()
    {
        Assert.Null(MessagingService.CheckContent(new Content { Text = new TextContent { Text = "hi" } }));
        Assert.Null(MessagingService.CheckContent(new Content { Custom = new CustomContent { Type = "card", Json = "{\"a\":1}" } }));
        Assert.Null(MessagingService.CheckContent(new Content { Custom = new CustomContent { Type = "card" } }));

        Assert.Equal(CoreError.InvalidArgument, MessagingService.CheckContent(null)?.Error);
        Assert.Equal(CoreError.InvalidArgument, MessagingService.CheckContent(new Content { Text = new TextContent() })?.Error);
        Assert.Equal(CoreError.InvalidArgument, MessagingService.CheckContent(new Content { Custom = new CustomContent { Type = "card", Json = "{oops" } })?.Error);
        Assert.Equal(CoreError.InvalidArgument, MessagingService.CheckContent(new Content { Custom = new CustomContent { Type = new string('t', 65), Json = "{}" } })?.Error);
        Assert.Equal(CoreError.InvalidArgument, MessagingService.CheckContent(new Content { Revoke = new RevokeContent { Seq = 1 } })?.Error);
    }
}
