using Microsoft.Extensions.DependencyInjection;
using Orleans;
using Orleans.Runtime;
using Parley.Abstractions.Messaging;
using Parley.Core.Messaging;
using Parley.IntegrationTests.Infrastructure;

namespace Parley.IntegrationTests;

/// <summary>
/// The send path's conversation grain references (issue 17): one reference per conversation kept in a fixed table of slots
/// of the running server's grain factory. A cached reference must reach its own conversation's grain, also after another
/// conversation took its slot and back, and from many threads at once.
/// </summary>
public sealed class ConversationReferenceCacheTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    private TestServer Server => fixture.Server;

    [Fact]
    public async Task Get_SameConversation_ReturnsOneReference_AndConversationsSharingASlotEachReachTheirOwnGrain()
    {
        var alice = await Server.CreateUserAsync("rca");
        var bob = await Server.CreateUserAsync("rcb");
        var carol = await Server.CreateUserAsync("rcc");
        await using var client = await Server.ConnectAsync(alice);
        var toBob = await client.SendTextAsync(bob, "to bob");
        var toCarol = await client.SendTextAsync(carol, "to carol");
        Assert.NotEqual(toBob.ConversationId, toCarol.ConversationId);

        var grains = Server.Services.GetRequiredService<IGrainFactory>();
        var cache = new ConversationReferenceCache(grains, slots: 1);
        var first = cache.Get(toBob.ConversationId);
        Assert.Same(first, cache.Get(toBob.ConversationId));
        Assert.Equal(grains.Conversation(toBob.ConversationId).GetGrainId(), first.GetGrainId());

        // One slot: each conversation in turn replaces the other, and each reference still reaches its own grain.
        foreach (var (conversationId, receipt, text) in new[] { (toCarol.ConversationId, toCarol, "to carol"), (toBob.ConversationId, toBob, "to bob"), (toCarol.ConversationId, toCarol, "to carol") })
        {
            var grain = cache.Get(conversationId);
            Assert.Equal(conversationId, grain.GetPrimaryKeyString());
            var page = await grain.GetHistoryAsync(alice, 0, ReadDirection.Backward, 10);
            Assert.True(page.IsOk, page.Message);
            var message = Assert.Single(page.Value!.Messages);
            Assert.Equal(conversationId, message.ConversationId);
            Assert.Equal(receipt.ServerMsgId, message.ServerMsgId);
            Assert.Equal((long)receipt.Seq, message.Seq);
        }

        Assert.NotSame(first, cache.Get(toBob.ConversationId));
    }

    [Fact]
    public async Task Get_ManyThreadsManyConversationsFewSlots_EveryReferenceNamesTheConversationAsked()
    {
        var grains = Server.Services.GetRequiredService<IGrainFactory>();
        var cache = new ConversationReferenceCache(grains, slots: 4);
        var ids = Enumerable.Range(0, 16).Select(i => $"si_rc{i}_rcz{i}").ToArray();
        var wrong = 0;
        var asked = 0;
        await Task.WhenAll(Enumerable.Range(0, 8).Select(worker => Task.Run(() =>
        {
            for (var i = 0; i < 2_000; i++)
            {
                var id = ids[(i * 7 + worker) % ids.Length];
                if (cache.Get(id).GetPrimaryKeyString() != id)
                {
                    Interlocked.Increment(ref wrong);
                }

                Interlocked.Increment(ref asked);
            }
        })));

        Assert.Equal(16_000, asked);
        Assert.Equal(0, wrong);
    }

    [Fact]
    public void Constructor_SlotsRoundedUpToAPowerOfTwo_AndAtLeastOne()
    {
        var grains = Server.Services.GetRequiredService<IGrainFactory>();
        Assert.Throws<ArgumentOutOfRangeException>(() => new ConversationReferenceCache(grains, slots: 0));

        // Three slots become four: four ids are kept at most, so the table cannot grow with the conversations asked.
        var cache = new ConversationReferenceCache(grains, slots: 3);
        Assert.Equal(4, cache.Slots);
    }
}
