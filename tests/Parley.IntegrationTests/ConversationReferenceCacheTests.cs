using Microsoft.Extensions.DependencyInjection;
using Orleans;
using Orleans.Runtime;
using Parley.Abstractions.Messaging;
using Parley.Core.Messaging;
using Parley.IntegrationTests.Infrastructure;

namespace Parley.IntegrationTests;

/// <summary>
/// The send path's conversation grain references (issue 17): kept per conversation in a fixed table of two-entry sets of
/// the running server's grain factory. A cached reference must reach its own conversation's grain, also after other
/// conversations pushed it out of its set and back, and from many threads at once.
/// </summary>
public sealed class ConversationReferenceCacheTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    private TestServer Server => fixture.Server;

    [Fact]
    public async Task Get_KeepsTwoConversationsPerSet_AndEachReferenceReachesItsOwnGrain_AfterEvictions()
    {
        var alice = await Server.CreateUserAsync("rca");
        await using var client = await Server.ConnectAsync(alice);
        var receipts = new List<Parley.Sdk.SendReceipt>();
        foreach (var prefix in new[] { "rcb", "rcc", "rcd" })
        {
            receipts.Add(await client.SendTextAsync(await Server.CreateUserAsync(prefix), "to " + prefix));
        }

        Assert.Equal(3, receipts.Select(r => r.ConversationId).Distinct().Count());
        var grains = Server.Services.GetRequiredService<IGrainFactory>();

        // One set of two: two conversations stay, a third pushes out the older one.
        var cache = new ConversationReferenceCache(grains, capacity: 2);
        var a = cache.Get(receipts[0].ConversationId);
        Assert.Same(a, cache.Get(receipts[0].ConversationId));
        Assert.Equal(grains.Conversation(receipts[0].ConversationId).GetGrainId(), a.GetGrainId());
        var b = cache.Get(receipts[1].ConversationId);
        Assert.Same(a, cache.Get(receipts[0].ConversationId));
        Assert.Same(b, cache.Get(receipts[1].ConversationId));
        cache.Get(receipts[2].ConversationId);
        Assert.NotSame(a, cache.Get(receipts[0].ConversationId));

        // Round and round through the one set: every reference reaches its own conversation's grain.
        for (var round = 0; round < 3; round++)
        {
            foreach (var receipt in receipts)
            {
                var grain = cache.Get(receipt.ConversationId);
                Assert.Equal(receipt.ConversationId, grain.GetPrimaryKeyString());
                var page = await grain.GetHistoryAsync(alice, 0, ReadDirection.Backward, 10);
                Assert.True(page.IsOk, page.Message);
                var message = Assert.Single(page.Value!.Messages);
                Assert.Equal(receipt.ConversationId, message.ConversationId);
                Assert.Equal(receipt.ServerMsgId, message.ServerMsgId);
                Assert.Equal((long)receipt.Seq, message.Seq);
            }
        }
    }

    [Fact]
    public async Task Get_ManyThreadsManyConversationsFewSets_EveryReferenceNamesTheConversationAsked()
    {
        var grains = Server.Services.GetRequiredService<IGrainFactory>();
        var cache = new ConversationReferenceCache(grains, capacity: 4);
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
    public void GetDirect_EveryPairOfTrickyIds_NamesIdsDirectConversationId_AndFindsWhatGetKept()
    {
        // Escaped characters, ids that look escaped, and the longest ids (every character escaped: the longest 1:1 id).
        string[] users =
            ["x", "y", "x_y", "y_z", "_", "__", "_x", "x_", ":", "::", "x:", ":_", "_:", "x:_y", "x::y", "a.b@c-d", "si_x", new string('u', 64), new string('_', 64), new string(':', 64)];
        var grains = Server.Services.GetRequiredService<IGrainFactory>();
        var cache = new ConversationReferenceCache(grains);
        foreach (var a in users)
        {
            foreach (var b in users)
            {
                var expected = Parley.Protocol.Ids.DirectConversationId(a, b);
                var direct = cache.GetDirect(a, b);
                Assert.Equal(expected, direct.GetPrimaryKeyString());

                // Just put first in its set: found again in either order, and by its id through Get (one table).
                Assert.Same(direct, cache.GetDirect(b, a));
                Assert.Same(direct, cache.Get(expected));
            }
        }

        // And the other way round: a reference Get kept is what GetDirect finds.
        var kept = cache.Get(Parley.Protocol.Ids.DirectConversationId("p_1", "q:2"));
        Assert.Same(kept, cache.GetDirect("q:2", "p_1"));
    }

    [Fact]
    public void Capacity_RoundedUpToAPowerOfTwo_AtLeastOneSetOfTwo()
    {
        var grains = Server.Services.GetRequiredService<IGrainFactory>();
        Assert.Throws<ArgumentOutOfRangeException>(() => new ConversationReferenceCache(grains, capacity: 0));

        // The table cannot grow with the conversations asked: at most this many references are kept.
        Assert.Equal(2, new ConversationReferenceCache(grains, capacity: 1).Capacity);
        Assert.Equal(4, new ConversationReferenceCache(grains, capacity: 3).Capacity);
        Assert.Equal(ConversationReferenceCache.DefaultCapacity, new ConversationReferenceCache(grains).Capacity);
    }
}
