using Parley.Abstractions.Messaging;

namespace Parley.Storage.Compliance;

/// <summary>
/// The replay positions every <see cref="IResumePositionStore"/> provider must keep (SQLite and PostgreSQL): durable, taken
/// once, never overwritten by an older connection's late save, purged by age.
/// </summary>
public abstract class ResumePositionStoreComplianceTests : MessageSchemaStoreComplianceTests<IResumePositionStore>
{
    [StoreFact]
    public async Task Saved_IsTakenOnce_PerDevice_AndOnlyWithinTheWindow()
    {
        await Store.SaveAsync("alice", "openim-5", version: 40, openedVersion: 30, savedAt: 1_000);
        await Store.SaveAsync("alice", "openim-2", version: 41, openedVersion: 30, savedAt: 1_000);
        await Store.SaveAsync("bob", "openim-5", version: 42, openedVersion: 30, savedAt: 500);

        Assert.Null(await Store.TakeAsync("carol", "openim-5", notBefore: 0));
        Assert.Equal(40, await Store.TakeAsync("alice", "openim-5", notBefore: 1_000));
        Assert.Null(await Store.TakeAsync("alice", "openim-5", notBefore: 0)); // taken: gone
        Assert.Equal(41, await Store.TakeAsync("alice", "openim-2", notBefore: 0));

        // Older than the window: not answered, and gone all the same.
        Assert.Null(await Store.TakeAsync("bob", "openim-5", notBefore: 501));
        Assert.Null(await Store.TakeAsync("bob", "openim-5", notBefore: 0));
    }

    [StoreFact]
    public async Task ALateSaveOfAnOlderConnection_NeverOverwritesItsSuccessor_NorDoesItsForget()
    {
        // The successor (opened at 50) ended first; the connection it replaced (opened at 20) is saved late by a node that
        // noticed its drop late.
        await Store.SaveAsync("alice", "openim-5", version: 60, openedVersion: 50, savedAt: 2_000);
        await Store.SaveAsync("alice", "openim-5", version: 25, openedVersion: 20, savedAt: 2_100);
        await Store.ForgetAsync("alice", "openim-5", openedVersion: 20);
        Assert.Equal(60, await Store.TakeAsync("alice", "openim-5", notBefore: 0));

        // A later connection's save and forget do apply.
        await Store.SaveAsync("alice", "openim-5", version: 60, openedVersion: 50, savedAt: 2_000);
        await Store.SaveAsync("alice", "openim-5", version: 70, openedVersion: 65, savedAt: 2_200);
        Assert.Equal(70, await Store.TakeAsync("alice", "openim-5", notBefore: 0));
        await Store.SaveAsync("alice", "openim-5", version: 80, openedVersion: 75, savedAt: 2_300);
        await Store.ForgetAsync("alice", "openim-5", openedVersion: 90);
        Assert.Null(await Store.TakeAsync("alice", "openim-5", notBefore: 0));
    }

    [StoreFact]
    public async Task ConcurrentTakes_OnlyOneGetsThePosition()
    {
        for (var round = 0; round < 5; round++)
        {
            await Store.SaveAsync("alice", "openim-5", version: 100 + round, openedVersion: round, savedAt: 3_000);
            var takes = await Task.WhenAll(Enumerable.Range(0, 16).Select(_ => Task.Run(() => Store.TakeAsync("alice", "openim-5", notBefore: 0))));
            Assert.Equal([100L + round], takes.Where(t => t is not null).Select(t => t!.Value));
        }
    }

    [StoreFact]
    public async Task Purge_RemovesOnlyPositionsSavedBeforeTheHorizon()
    {
        await Store.SaveAsync("alice", "openim-5", version: 1, openedVersion: 1, savedAt: 100);
        await Store.SaveAsync("bob", "openim-5", version: 2, openedVersion: 1, savedAt: 200);
        await Store.SaveAsync("carol", "openim-5", version: 3, openedVersion: 1, savedAt: 300);

        Assert.Equal(2, await Store.PurgeAsync(before: 300));
        Assert.Null(await Store.TakeAsync("alice", "openim-5", notBefore: 0));
        Assert.Null(await Store.TakeAsync("bob", "openim-5", notBefore: 0));
        Assert.Equal(3, await Store.TakeAsync("carol", "openim-5", notBefore: 0));
    }
}
