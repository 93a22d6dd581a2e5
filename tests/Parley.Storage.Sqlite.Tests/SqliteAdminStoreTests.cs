using Parley.Abstractions.Admin;

namespace Parley.Storage.Sqlite.Tests;

public sealed class SqliteAdminStoreTests : IAsyncLifetime
{
    private readonly TempDatabase _database = new();
    private SqliteAccountStore _store = null!;

    public async Task InitializeAsync()
    {
        _store = new SqliteAccountStore(_database.Open());
        await _store.InitializeAsync();
    }

    public Task DisposeAsync()
    {
        _database.Dispose();
        return Task.CompletedTask;
    }

    [Fact]
    public async Task Audit_SurvivesReopen_FiltersAndPagesNewestFirst()
    {
        for (var i = 0; i < 6; i++)
        {
            var actor = i % 2 == 0 ? "admin" : "operator:abc";
            var action = i < 3 ? "users.create" : "groups.dismiss";
            await _store.AppendAuditAsync(new AuditEntry(0, 1000 + i, actor, actor == "admin" ? "admin" : "alice", action, $"t{i}_x%", "127.0.0.1", 200, ""));
        }

        var reopened = new SqliteAccountStore(_database.Open());
        await reopened.InitializeAsync();
        var all = await reopened.QueryAuditAsync(new AuditQuery(null, null, null, null, null, null, 100));
        Assert.Equal([6L, 5, 4, 3, 2, 1], all.Select(e => e.Id));

        Assert.Equal([6L, 4, 2], (await reopened.QueryAuditAsync(new AuditQuery("operator:abc", null, null, null, null, null, 100))).Select(e => e.Id));
        Assert.Equal([6L, 4, 2], (await reopened.QueryAuditAsync(new AuditQuery("alice", null, null, null, null, null, 100))).Select(e => e.Id));
        Assert.Equal([3L, 2, 1], (await reopened.QueryAuditAsync(new AuditQuery(null, "users", null, null, null, null, 100))).Select(e => e.Id));
        Assert.Empty(await reopened.QueryAuditAsync(new AuditQuery(null, "user", null, null, null, null, 100)));
        Assert.Equal([2L], (await reopened.QueryAuditAsync(new AuditQuery(null, null, "t1_x%", null, null, null, 100))).Select(e => e.Id));
        Assert.Equal([4L, 3], (await reopened.QueryAuditAsync(new AuditQuery(null, null, null, 1002, 1004, null, 100))).Select(e => e.Id));
        Assert.Equal([3L, 2], (await reopened.QueryAuditAsync(new AuditQuery(null, null, null, null, null, 4, 2))).Select(e => e.Id));
    }

    [Fact]
    public async Task OperatorTokens_RoundTripAndRevokeOnce()
    {
        var record = new OperatorTokenRecord("0123456789abcdef", "desk", ["users", "read"], [1, 2, 3], "admin", 10, 20, null);
        await _store.SaveOperatorTokenAsync(record);
        var read = await _store.GetOperatorTokenAsync("0123456789abcdef");
        Assert.NotNull(read);
        Assert.Equal(["users", "read"], read.Scopes);
        Assert.Equal([1, 2, 3], read.SecretHash);
        Assert.True(await _store.RevokeOperatorTokenAsync("0123456789abcdef", 15));
        Assert.False(await _store.RevokeOperatorTokenAsync("0123456789abcdef", 16));
        Assert.Equal(15, (await _store.GetOperatorTokenAsync("0123456789abcdef"))!.RevokedAt);
        Assert.Single(await _store.ListOperatorTokensAsync());
    }
}
