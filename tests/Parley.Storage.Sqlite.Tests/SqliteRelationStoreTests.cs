using Parley.Abstractions.Accounts;
using Parley.Abstractions.Social;
using Parley.Storage.Sqlite.Social;

namespace Parley.Storage.Sqlite.Tests;

public sealed class SqliteRelationStoreTests : IAsyncLifetime
{
    private readonly TempDatabase _database = new();
    private SqliteRelationStore _store = null!;
    private SqliteAccountStore _accounts = null!;

    public async Task InitializeAsync()
    {
        var owner = _database.Open();
        _store = new SqliteRelationStore(owner);
        _accounts = new SqliteAccountStore(owner);
        await Task.WhenAll(_store.InitializeAsync(), _accounts.InitializeAsync());
    }

    public Task DisposeAsync()
    {
        _database.Dispose();
        return Task.CompletedTask;
    }

    private static RelationWrite Friendship(string a, string b, bool deleted = false, long at = 100)
    {
        var write = new RelationWrite();
        write.Friends.Add(new FriendRecord(a, b, "", at, deleted));
        write.Friends.Add(new FriendRecord(b, a, "", at, deleted));
        return write;
    }

    [Fact]
    public async Task Apply_EachWrite_TakesTheNextVersionAndStampsEveryRow()
    {
        Assert.Equal(0, await _store.GetVersionAsync());
        var v1 = await _store.ApplyAsync(Friendship("alice", "bob"));
        var request = new RelationWrite();
        request.Requests.Add(new FriendRequestRecord("carol", "alice", "hi", FriendRequestState.Pending, 5, 0, ""));
        var v2 = await _store.ApplyAsync(request);

        Assert.Equal(1, v1);
        Assert.Equal(2, v2);
        Assert.Equal(2, await _store.GetVersionAsync());
        Assert.Equal(2, await _store.ApplyAsync(new RelationWrite()));

        var pair = await _store.GetPairAsync("alice", "bob");
        Assert.True(pair.Friends);
        Assert.Equal(v1, pair.FirstFriendRow!.Version);
        Assert.Equal(v1, pair.SecondFriendRow!.Version);
        var incoming = (await _store.GetPairAsync("alice", "carol")).SecondToFirstRequest;
        Assert.Equal(new FriendRequestRecord("carol", "alice", "hi", FriendRequestState.Pending, 5, 0, "", v2), incoming);
    }

    [Fact]
    public async Task GetPair_BlocksBothWays_AndTombstonesAreNotBlocks()
    {
        var write = new RelationWrite();
        write.Blocks.Add(new BlockRecord("bob", "alice", true));
        await _store.ApplyAsync(write);
        var pair = await _store.GetPairAsync("alice", "bob");
        Assert.False(pair.FirstBlocksSecond);
        Assert.True(pair.SecondBlocksFirst);

        var unblock = new RelationWrite();
        unblock.Blocks.Add(new BlockRecord("bob", "alice", false));
        await _store.ApplyAsync(unblock);
        Assert.Equal(RelationPair.Empty("alice", "bob"), await _store.GetPairAsync("alice", "bob"));
        await Assert.ThrowsAsync<ArgumentException>(() => _store.GetPairAsync("bob", "alice"));
    }

    [Fact]
    public async Task GetChanges_SinceVersion_ReturnsOnlyTheUsersRowsAboveIt()
    {
        var v1 = await _store.ApplyAsync(Friendship("alice", "bob"));
        await _store.ApplyAsync(Friendship("carol", "dave"));
        var v3 = await _store.ApplyAsync(Friendship("alice", "carol"));
        var changes = new RelationWrite();
        changes.Friends.Add(new FriendRecord("alice", "bob", "", 100, Deleted: true));
        changes.Friends.Add(new FriendRecord("bob", "alice", "", 100, Deleted: true));
        changes.Requests.Add(new FriendRequestRecord("alice", "erin", "hello", FriendRequestState.Pending, 7, 0, ""));
        changes.Requests.Add(new FriendRequestRecord("frank", "alice", "yo", FriendRequestState.Refused, 8, 9, "no"));
        changes.Blocks.Add(new BlockRecord("alice", "mallory", true));
        var v4 = await _store.ApplyAsync(changes);

        var delta = await _store.GetChangesAsync("alice", v1);
        Assert.False(delta.FullReset);
        Assert.Equal(v4, delta.Version);
        Assert.Equal(["carol"], delta.Friends.Select(f => f.FriendId));
        Assert.Equal(["bob"], delta.DeletedFriendIds);
        Assert.Equal(["alice>erin", "frank>alice"], delta.Requests.Select(r => r.FromUserId + ">" + r.ToUserId).Order(StringComparer.Ordinal));
        Assert.Equal(["mallory"], delta.BlockedUserIds);
        Assert.Empty(delta.UnblockedUserIds);

        var sinceV3 = await _store.GetChangesAsync("alice", v3);
        Assert.Empty(sinceV3.Friends);
        Assert.Equal(["bob"], sinceV3.DeletedFriendIds);

        var nothing = await _store.GetChangesAsync("alice", v4);
        Assert.False(nothing.FullReset);
        Assert.Empty(nothing.Friends);
        Assert.Empty(nothing.DeletedFriendIds);
        Assert.Empty(nothing.Requests);
        Assert.Empty(nothing.BlockedUserIds);

        var dave = await _store.GetChangesAsync("dave", v3);
        Assert.Empty(dave.Friends);
        Assert.Empty(dave.Requests);
    }

    [Fact]
    public async Task GetChanges_VersionZeroOrUnknown_IsAFullResetWithoutTombstones()
    {
        await _store.ApplyAsync(Friendship("alice", "bob"));
        await _store.ApplyAsync(Friendship("alice", "carol"));
        var v3 = await _store.ApplyAsync(Friendship("alice", "bob", deleted: true));
        var block = new RelationWrite();
        block.Blocks.Add(new BlockRecord("alice", "x", true));
        block.Blocks.Add(new BlockRecord("alice", "y", false));
        var v4 = await _store.ApplyAsync(block);

        foreach (var since in new long[] { 0, v4 + 10 })
        {
            var full = await _store.GetChangesAsync("alice", since);
            Assert.True(full.FullReset);
            Assert.Equal(v4, full.Version);
            Assert.Equal(["carol"], full.Friends.Select(f => f.FriendId));
            Assert.Empty(full.DeletedFriendIds);
            Assert.Equal(["x"], full.BlockedUserIds);
            Assert.Empty(full.UnblockedUserIds);
        }

        Assert.False((await _store.GetChangesAsync("alice", v3)).FullReset);
    }

    [Fact]
    public async Task PurgeTombstones_RaisesTheHorizon_OlderClientsGetAFullReset()
    {
        var v1 = await _store.ApplyAsync(Friendship("alice", "bob"));
        var v2 = await _store.ApplyAsync(Friendship("alice", "bob", deleted: true));
        var v3 = await _store.ApplyAsync(Friendship("alice", "carol"));

        Assert.Equal(2, await _store.PurgeTombstonesAsync(v2));

        var behind = await _store.GetChangesAsync("alice", v1);
        Assert.True(behind.FullReset);
        Assert.Equal(["carol"], behind.Friends.Select(f => f.FriendId));
        var atHorizon = await _store.GetChangesAsync("alice", v2);
        Assert.False(atHorizon.FullReset);
        Assert.Equal(["carol"], atHorizon.Friends.Select(f => f.FriendId));
        Assert.Equal(v3, atHorizon.Version);
        Assert.Null((await _store.GetPairAsync("alice", "bob")).FirstFriendRow);
    }

    [Fact]
    public async Task ListRequests_ByDirection_NewestFirstWithStates()
    {
        var write = new RelationWrite();
        write.Requests.Add(new FriendRequestRecord("bob", "alice", "1", FriendRequestState.Pending, 10, 0, ""));
        write.Requests.Add(new FriendRequestRecord("carol", "alice", "2", FriendRequestState.Refused, 20, 25, "no"));
        write.Requests.Add(new FriendRequestRecord("alice", "dave", "3", FriendRequestState.Accepted, 30, 35, ""));
        await _store.ApplyAsync(write);

        var incoming = await _store.ListRequestsAsync("alice", incoming: true, 10);
        Assert.Equal(["carol", "bob"], incoming.Select(r => r.FromUserId));
        Assert.Equal([FriendRequestState.Refused, FriendRequestState.Pending], incoming.Select(r => r.State));
        Assert.Equal(["dave"], (await _store.ListRequestsAsync("alice", incoming: false, 10)).Select(r => r.ToUserId));
        Assert.Single(await _store.ListRequestsAsync("alice", incoming: true, 1));
    }

    [Fact]
    public async Task SearchUsers_ExactIdAlways_NicknameOnlyForSearchable_WithinLimit()
    {
        await _accounts.CreateUserAsync(new UserRecord("u1", "Alice Smith", "", "", 1, 1));
        await _accounts.CreateUserAsync(new UserRecord("u2", "alice jones", "", "", 1, 1));
        await _accounts.CreateUserAsync(new UserRecord("u3", "Hidden Alice", "", "", 1, 1));
        await _accounts.CreateUserAsync(new UserRecord("alice", "Zed", "", "", 1, 1));
        await _accounts.CreateUserAsync(new UserRecord("u5", "100%_x", "", "", 1, 1));
        Assert.True(await _store.GetSearchableAsync("u3"));
        await _store.SetSearchableAsync("u3", false, 5);
        Assert.False(await _store.GetSearchableAsync("u3"));

        var found = await _store.SearchUsersAsync("ALICE", 10);
        Assert.Equal(["u2", "u1"], found.Select(u => u.UserId));
        Assert.Equal(["alice", "u2", "u1"], (await _store.SearchUsersAsync("alice", 10)).Select(u => u.UserId));
        Assert.Equal(["alice"], (await _store.SearchUsersAsync("alice", 1)).Select(u => u.UserId));
        Assert.Equal(["u3"], (await _store.SearchUsersAsync("u3", 10)).Select(u => u.UserId));
        Assert.Equal(["u5"], (await _store.SearchUsersAsync("%_", 10)).Select(u => u.UserId));
        Assert.Empty(await _store.SearchUsersAsync("", 10));

        await _store.SetSearchableAsync("u3", true, 6);
        Assert.Contains("u3", (await _store.SearchUsersAsync("hidden", 10)).Select(u => u.UserId));
    }

    [Fact]
    public async Task Apply_ConcurrentWriters_VersionsAreUniqueAndGapless()
    {
        var versions = await Task.WhenAll(Enumerable.Range(0, 40).Select(i => _store.ApplyAsync(Friendship("a" + i, "b" + i))));
        Assert.Equal(Enumerable.Range(1, 40).Select(i => (long)i), versions.Order());
    }
}
