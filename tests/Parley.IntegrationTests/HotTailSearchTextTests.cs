using Parley.IntegrationTests.Infrastructure;
using Parley.Protocol.V1;
using Parley.Sdk;

namespace Parley.IntegrationTests;

/// <summary>
/// A conversation's hot tail no longer keeps a committed message's search text (issue 17, stop 42: a third of what each
/// message kept alive there): the text is the commit's alone. What must not change: every message sent in one group
/// commit is found by search, history served from the tail is whole, and an edit of a message held in the tail is
/// indexed with its new text.
/// </summary>
public sealed class HotTailSearchTextTests
{
    [Fact]
    public async Task ConcurrentSends_EachFoundBySearch_HistoryFromTheTailWhole_AnEditIndexedWithItsNewText()
    {
        await using var server = await TestServer.StartAsync();
        var alice = await server.CreateUserAsync("alice");
        var bob = await server.CreateUserAsync("bob");
        var aliceClient = await server.ConnectAsync(alice);
        var bobClient = await server.ConnectAsync(bob);

        // Sent at once, so that the commit pipeline takes several of them into one batch.
        var texts = Enumerable.Range(0, 24).Select(i => $"tailword{i:D2} message {i}").ToArray();
        var sent = await Task.WhenAll(texts.Select(t => aliceClient.SendTextAsync(bob, t)));
        var conversation = sent[0].ConversationId;

        for (var i = 0; i < texts.Length; i++)
        {
            var hits = (await bobClient.SearchAsync($"tailword{i:D2}")).Hits;
            Assert.Equal(texts[i], Assert.Single(hits).Message.Content.Text.Text);
        }

        // The tail holds the 24 (its default is 256): history is read from it, content intact.
        var history = await bobClient.GetHistoryAsync(conversation, limit: 50);
        Assert.Equal(texts.Order(StringComparer.Ordinal), history.Messages.Select(m => m.Content.Text.Text).Order(StringComparer.Ordinal));

        // An edit of a message the tail holds: the new text is indexed, the old one no longer found.
        var target = sent[3];
        await aliceClient.EditAsync(conversation, target.Seq, new TextContent { Text = "editedword replaces it" });
        Assert.Equal(target.Seq, Assert.Single((await bobClient.SearchAsync("editedword")).Hits).Message.Seq);
        Assert.Empty((await bobClient.SearchAsync("tailword03")).Hits);
    }
}
