using Parley.Abstractions.Accounts;
using Parley.Abstractions.Social;

namespace Parley.Storage.Compliance;

/// <summary>
/// The behaviour every <see cref="IRelationStore"/> provider must show (SQLite and PostgreSQL run it unchanged):
/// versions, deltas, tombstones and their purge horizon, requests, blocks and user search. A provider's test class
/// derives from this and supplies a relation store and an account store over the same fresh, empty storage.
/// </summary>
public abstract class RelationStoreComplianceTests : IAsyncLifetime
{
    protected IRelationStore Store { get; private set; } = null!;

    protected IAccountStore Accounts { get; private set; } = null!;

    /// <summary>A relation store and an account store over one new, empty storage.</summary>
    protected abstract (IRelationStore Relations, IAccountStore Accounts) CreateStores();

    public virtual async Task InitializeAsync()
    {
        (Store, Accounts) = CreateStores();
        await Task.WhenAll(Store.InitializeAsync(), Accounts.InitializeAsync());
    }

    public virtual Task DisposeAsync() => Task.CompletedTask;

    private static RelationWrite Friendship(string a, string b, bool deleted = false, long at = 100)
    {
        var write = new RelationWrite();
        write.Friends.Add(new FriendRecord(a, b, "", at, deleted));
        write.Friends.Add(new FriendRecord(b, a, "", at, deleted));
        return write;
    }

    [StoreFact]
    public async Task Apply_EachWrite_TakesTheNextVersionAndStampsEveryRow()
    {
        Assert.Equal(0, await Store.GetVersionAsync());
        var v1 = await Store.ApplyAsync(Friendship("alice", "bob"));
        var request = new RelationWrite();
        request.Requests.Add(new FriendRequestRecord("carol", "alice", "hi", FriendRequestState.Pending, 5, 0, ""));
        var v2 = await Store.ApplyAsync(request);

        Assert.Equal(1, v1);
        Assert.Equal(2, v2);
        Assert.Equal(2, await Store.GetVersionAsync());
        Assert.Equal(2, await Store.ApplyAsync(new RelationWrite()));

        var pair = await Store.GetPairAsync("alice", "bob");
        Assert.True(pair.Friends);
        Assert.Equal(v1, pair.FirstFriendRow!.Version);
        Assert.Equal(v1, pair.SecondFriendRow!.Version);
        var incoming = (await Store.GetPairAsync("alice", "carol")).SecondToFirstRequest;
        Assert.Equal(new FriendRequestRecord("carol", "alice", "hi", FriendRequestState.Pending, 5, 0, "", v2), incoming);
    }

    [StoreFact]
    public async Task GetPair_BlocksBothWays_AndTombstonesAreNotBlocks()
    {
        var write = new RelationWrite();
        write.Blocks.Add(new BlockRecord("bob", "alice", true));
        await Store.ApplyAsync(write);
        var pair = await Store.GetPairAsync("alice", "bob");
        Assert.False(pair.FirstBlocksSecond);
        Assert.True(pair.SecondBlocksFirst);

        var unblock = new RelationWrite();
        unblock.Blocks.Add(new BlockRecord("bob", "alice", false));
        await Store.ApplyAsync(unblock);
        Assert.Equal(RelationPair.Empty("alice", "bob"), await Store.GetPairAsync("alice", "bob"));
        await Assert.ThrowsAsync<ArgumentException>(() => Store.GetPairAsync("bob", "alice"));
    }

    [StoreFact]
    public async Task GetPairFlags_InEveryState_AgreeWithThePair()
    {
        // Each step changes one fact between alice and bob (the pair read is the reference the flags must match); carol
        // and dave's rows around them must not leak into alice and bob's answer.
        var noise = new RelationWrite();
        noise.Friends.Add(new FriendRecord("alice", "carol", "", 1, false));
        noise.Friends.Add(new FriendRecord("carol", "alice", "", 1, false));
        noise.Blocks.Add(new BlockRecord("dave", "bob", true));
        noise.Blocks.Add(new BlockRecord("alice", "dave", true));
        await Store.ApplyAsync(noise);

        var steps = new List<(string What, RelationWrite Write, RelationFlags Expected)>();
        void Step(string what, RelationFlags expected, Action<RelationWrite> fill)
        {
            var write = new RelationWrite();
            fill(write);
            steps.Add((what, write, expected));
        }

        Step("a request is not a friendship", new(false, false, false), w => w.Requests.Add(new FriendRequestRecord("alice", "bob", "hi", FriendRequestState.Pending, 2, 0, "")));
        Step("one friend row is not a friendship", new(false, false, false), w => w.Friends.Add(new FriendRecord("alice", "bob", "", 3, false)));
        Step("both rows are", new(false, false, true), w => w.Friends.Add(new FriendRecord("bob", "alice", "", 3, false)));
        Step("bob blocks alice", new(false, true, true), w => w.Blocks.Add(new BlockRecord("bob", "alice", true)));
        Step("alice blocks bob too", new(true, true, true), w => w.Blocks.Add(new BlockRecord("alice", "bob", true)));
        Step("bob's block is a tombstone", new(true, false, true), w => w.Blocks.Add(new BlockRecord("bob", "alice", false)));
        Step("one friend row deleted", new(true, false, false), w => w.Friends.Add(new FriendRecord("bob", "alice", "", 4, true)));
        Step("both deleted, alice unblocks", new(false, false, false), w =>
        {
            w.Friends.Add(new FriendRecord("alice", "bob", "", 4, true));
            w.Blocks.Add(new BlockRecord("alice", "bob", false));
        });

        Assert.Equal(default, await Store.GetPairFlagsAsync("alice", "bob"));
        foreach (var (what, write, expected) in steps)
        {
            await Store.ApplyAsync(write);
            var pair = await Store.GetPairAsync("alice", "bob");
            Assert.True(new RelationFlags(pair.FirstBlocksSecond, pair.SecondBlocksFirst, pair.Friends) == expected, $"the pair after: {what}");
            Assert.True(await Store.GetPairFlagsAsync("alice", "bob") == expected, $"the flags after: {what}");
        }

        Assert.Equal(new RelationFlags(false, false, true), await Store.GetPairFlagsAsync("alice", "carol"));
        Assert.Equal(new RelationFlags(true, false, false), await Store.GetPairFlagsAsync("alice", "dave"));
        await Assert.ThrowsAsync<ArgumentException>(() => Store.GetPairFlagsAsync("bob", "alice"));
    }

    [StoreFact]
    public async Task GetPairFlagsAndUser_InEveryState_AgreesWithTheFlagsAndTheAccountRead()
    {
        // The one read of a new 1:1's first message (issue 17, stop 45): in each state, the flags as GetPairFlagsAsync and the
        // account as GetUserAsync, for a member of the pair with and without an account and for a user of neither. A provider
        // without the one-statement read answers null (the caller reads the account itself).
        await Accounts.CreateUserAsync(new UserRecord("alice", "Alice", "", "", 1, 1));
        await Accounts.CreateUserAsync(new UserRecord("carol", "Carol", "", "", 1, 1));
        var answered = 0;
        async Task Check(string what)
        {
            foreach (var user in new[] { "alice", "bob", "carol", "ghost" })
            {
                var both = await Store.GetPairFlagsAndUserAsync("alice", "bob", user);
                if (both is not { } found)
                {
                    continue;
                }

                answered++;
                Assert.True(found.Flags == await Store.GetPairFlagsAsync("alice", "bob"), $"{what}: the flags, asked with {user}");
                Assert.True(found.UserExists == (await Accounts.GetUserAsync(user) is not null), $"{what}: {user}'s account");
            }
        }

        await Check("no rows");
        await Store.ApplyAsync(Friendship("alice", "bob"));
        await Check("friends");
        await Accounts.CreateUserAsync(new UserRecord("bob", "Bob", "", "", 1, 1));
        await Check("bob has an account");
        var block = new RelationWrite();
        block.Blocks.Add(new BlockRecord("bob", "alice", true));
        await Store.ApplyAsync(block);
        await Check("bob blocks alice");
        var both = new RelationWrite();
        both.Blocks.Add(new BlockRecord("alice", "bob", true));
        both.Friends.Add(new FriendRecord("alice", "bob", "", 5, true));
        await Store.ApplyAsync(both);
        await Check("blocked both ways, one friend row deleted");
        if (answered > 0)
        {
            Assert.Equal(20, answered);
            Assert.Equal((new RelationFlags(true, true, false), true), await Store.GetPairFlagsAndUserAsync("alice", "bob", "bob"));
            Assert.Equal((new RelationFlags(true, true, false), false), await Store.GetPairFlagsAndUserAsync("alice", "bob", "ghost"));
            await Assert.ThrowsAsync<ArgumentException>(() => Store.GetPairFlagsAndUserAsync("bob", "alice", "bob").AsTask());
        }
    }

    [StoreFact]
    public async Task GetChanges_SinceVersion_ReturnsOnlyTheUsersRowsAboveIt()
    {
        var v1 = await Store.ApplyAsync(Friendship("alice", "bob"));
        await Store.ApplyAsync(Friendship("carol", "dave"));
        var v3 = await Store.ApplyAsync(Friendship("alice", "carol"));
        var changes = new RelationWrite();
        changes.Friends.Add(new FriendRecord("alice", "bob", "", 100, Deleted: true));
        changes.Friends.Add(new FriendRecord("bob", "alice", "", 100, Deleted: true));
        changes.Requests.Add(new FriendRequestRecord("alice", "erin", "hello", FriendRequestState.Pending, 7, 0, ""));
        changes.Requests.Add(new FriendRequestRecord("frank", "alice", "yo", FriendRequestState.Refused, 8, 9, "no"));
        changes.Blocks.Add(new BlockRecord("alice", "mallory", true));
        var v4 = await Store.ApplyAsync(changes);

        var delta = await Store.GetChangesAsync("alice", v1);
        Assert.False(delta.FullReset);
        Assert.Equal(v4, delta.Version);
        Assert.Equal(["carol"], delta.Friends.Select(f => f.FriendId));
        Assert.Equal(["bob"], delta.DeletedFriendIds);
        Assert.Equal(["alice>erin", "frank>alice"], delta.Requests.Select(r => r.FromUserId + ">" + r.ToUserId).Order(StringComparer.Ordinal));
        Assert.Equal(["mallory"], delta.BlockedUserIds);
        Assert.Empty(delta.UnblockedUserIds);

        var sinceV3 = await Store.GetChangesAsync("alice", v3);
        Assert.Empty(sinceV3.Friends);
        Assert.Equal(["bob"], sinceV3.DeletedFriendIds);

        var nothing = await Store.GetChangesAsync("alice", v4);
        Assert.False(nothing.FullReset);
        Assert.Empty(nothing.Friends);
        Assert.Empty(nothing.DeletedFriendIds);
        Assert.Empty(nothing.Requests);
        Assert.Empty(nothing.BlockedUserIds);

        var dave = await Store.GetChangesAsync("dave", v3);
        Assert.Empty(dave.Friends);
        Assert.Empty(dave.Requests);
    }

    [StoreFact]
    public async Task GetChanges_VersionZeroOrUnknown_IsAFullResetWithoutTombstones()
    {
        await Store.ApplyAsync(Friendship("alice", "bob"));
        await Store.ApplyAsync(Friendship("alice", "carol"));
        var v3 = await Store.ApplyAsync(Friendship("alice", "bob", deleted: true));
        var block = new RelationWrite();
        block.Blocks.Add(new BlockRecord("alice", "x", true));
        block.Blocks.Add(new BlockRecord("alice", "y", false));
        var v4 = await Store.ApplyAsync(block);

        foreach (var since in new long[] { 0, v4 + 10 })
        {
            var full = await Store.GetChangesAsync("alice", since);
            Assert.True(full.FullReset);
            Assert.Equal(v4, full.Version);
            Assert.Equal(["carol"], full.Friends.Select(f => f.FriendId));
            Assert.Empty(full.DeletedFriendIds);
            Assert.Equal(["x"], full.BlockedUserIds);
            Assert.Empty(full.UnblockedUserIds);
        }

        Assert.False((await Store.GetChangesAsync("alice", v3)).FullReset);
    }

    [StoreFact]
    public async Task PurgeTombstones_RaisesTheHorizon_OlderClientsGetAFullReset()
    {
        var v1 = await Store.ApplyAsync(Friendship("alice", "bob"));
        var v2 = await Store.ApplyAsync(Friendship("alice", "bob", deleted: true));
        var v3 = await Store.ApplyAsync(Friendship("alice", "carol"));

        Assert.Equal(2, await Store.PurgeTombstonesAsync(v2));

        var behind = await Store.GetChangesAsync("alice", v1);
        Assert.True(behind.FullReset);
        Assert.Equal(["carol"], behind.Friends.Select(f => f.FriendId));
        var atHorizon = await Store.GetChangesAsync("alice", v2);
        Assert.False(atHorizon.FullReset);
        Assert.Equal(["carol"], atHorizon.Friends.Select(f => f.FriendId));
        Assert.Equal(v3, atHorizon.Version);
        Assert.Null((await Store.GetPairAsync("alice", "bob")).FirstFriendRow);
    }

    [StoreFact]
    public async Task ListRequests_ByDirection_NewestFirstWithStates()
    {
        var write = new RelationWrite();
        write.Requests.Add(new FriendRequestRecord("bob", "alice", "1", FriendRequestState.Pending, 10, 0, ""));
        write.Requests.Add(new FriendRequestRecord("carol", "alice", "2", FriendRequestState.Refused, 20, 25, "no"));
        write.Requests.Add(new FriendRequestRecord("alice", "dave", "3", FriendRequestState.Accepted, 30, 35, ""));
        await Store.ApplyAsync(write);

        var incoming = await Store.ListRequestsAsync("alice", incoming: true, 10);
        Assert.Equal(["carol", "bob"], incoming.Select(r => r.FromUserId));
        Assert.Equal([FriendRequestState.Refused, FriendRequestState.Pending], incoming.Select(r => r.State));
        Assert.Equal(["dave"], (await Store.ListRequestsAsync("alice", incoming: false, 10)).Select(r => r.ToUserId));
        Assert.Single(await Store.ListRequestsAsync("alice", incoming: true, 1));
    }

    [StoreFact]
    public async Task SearchUsers_ExactIdAlways_NicknameOnlyForSearchable_WithinLimit()
    {
        await Accounts.CreateUserAsync(new UserRecord("u1", "Alice Smith", "", "", 1, 1));
        await Accounts.CreateUserAsync(new UserRecord("u2", "alice jones", "", "", 1, 1));
        await Accounts.CreateUserAsync(new UserRecord("u3", "Hidden Alice", "", "", 1, 1));
        await Accounts.CreateUserAsync(new UserRecord("alice", "Zed", "", "", 1, 1));
        await Accounts.CreateUserAsync(new UserRecord("u5", "100%_x", "", "", 1, 1));
        Assert.True(await Store.GetSearchableAsync("u3"));
        await Store.SetSearchableAsync("u3", false, 5);
        Assert.False(await Store.GetSearchableAsync("u3"));

        var found = await Store.SearchUsersAsync("ALICE", 10);
        Assert.Equal(["u2", "u1"], found.Select(u => u.UserId));
        Assert.Equal(["alice", "u2", "u1"], (await Store.SearchUsersAsync("alice", 10)).Select(u => u.UserId));
        Assert.Equal(["alice"], (await Store.SearchUsersAsync("alice", 1)).Select(u => u.UserId));
        Assert.Equal(["u3"], (await Store.SearchUsersAsync("u3", 10)).Select(u => u.UserId));
        Assert.Equal(["u5"], (await Store.SearchUsersAsync("%_", 10)).Select(u => u.UserId));
        Assert.Empty(await Store.SearchUsersAsync("", 10));

        await Store.SetSearchableAsync("u3", true, 6);
        Assert.Contains("u3", (await Store.SearchUsersAsync("hidden", 10)).Select(u => u.UserId));
    }

    [StoreFact]
    public async Task Apply_ConcurrentWriters_VersionsAreUniqueAndGapless()
    {
        var versions = await Task.WhenAll(Enumerable.Range(0, 40).Select(i => Store.ApplyAsync(Friendship("a" + i, "b" + i))));
        Assert.Equal(Enumerable.Range(1, 40).Select(i => (long)i), versions.Order());
    }
}
