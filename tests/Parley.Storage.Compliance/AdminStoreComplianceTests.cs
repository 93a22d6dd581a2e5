using Parley.Abstractions.Accounts;
using Parley.Abstractions.Admin;

namespace Parley.Storage.Compliance;

/// <summary>
/// The behaviour every provider of the admin ports (<see cref="IOperatorStore"/>, <see cref="IAuditStore"/>,
/// <see cref="IAdminQueryStore"/>, beside <see cref="IAccountStore"/>) must show; SQLite and PostgreSQL run it unchanged.
/// </summary>
public abstract class AdminStoreComplianceTests<TStore> : IAsyncLifetime
    where TStore : IAccountStore, IOperatorStore, IAuditStore, IAdminQueryStore
{
    protected TStore Store { get; private set; } = default!;

    /// <summary>A store over this test's storage: empty the first time, the same data when called again (a restart).</summary>
    protected abstract TStore OpenStore();

    public virtual async Task InitializeAsync()
    {
        Store = OpenStore();
        await Store.InitializeAsync();
    }

    public virtual Task DisposeAsync() => Task.CompletedTask;

    [StoreFact]
    public async Task CountCreated_TotalBeforeTheStartAndPerUtcDay()
    {
        var day1 = new DateTimeOffset(2026, 3, 1, 23, 59, 0, TimeSpan.Zero).ToUnixTimeMilliseconds();
        var day2 = new DateTimeOffset(2026, 3, 2, 0, 0, 0, TimeSpan.Zero).ToUnixTimeMilliseconds();
        long[] created = [day1 - 86_400_000, day1, day2, day2 + 3_600_000, day2 + 86_400_000 + 1, day2 + 2 * 86_400_000];
        for (var i = 0; i < created.Length; i++)
        {
            Assert.True(await Store.CreateUserAsync(new UserRecord("stat" + i, "s", "", "{}", created[i], created[i])));
        }

        var counts = await Store.CountCreatedAsync(CreatedKind.Users, day2, day2 + 2 * 86_400_000);
        Assert.Equal((6L, 2L), (counts.Total, counts.Before));
        Assert.Equal(new Dictionary<string, long> { ["2026-03-02"] = 2, ["2026-03-03"] = 1 }, counts.PerDay);
        var groups = await Store.CountCreatedAsync(CreatedKind.Groups, day2, day2 + 86_400_000);
        Assert.Equal((0L, 0L), (groups.Total, groups.Before));
        Assert.Empty(groups.PerDay);
    }

    [StoreFact]
    public async Task Audit_SurvivesReopen_FiltersAndPagesNewestFirst()
    {
        for (var i = 0; i < 6; i++)
        {
            var actor = i % 2 == 0 ? "admin" : "operator:abc";
            var action = i < 3 ? "users.create" : "groups.dismiss";
            await Store.AppendAuditAsync(new AuditEntry(0, 1000 + i, actor, actor == "admin" ? "admin" : "alice", action, $"t{i}_x%", "127.0.0.1", 200, ""));
        }

        var reopened = OpenStore();
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

    [StoreFact]
    public async Task OperatorTokens_RoundTripAndRevokeOnce()
    {
        var record = new OperatorTokenRecord("0123456789abcdef", "desk", ["users", "read"], [1, 2, 3], "admin", 10, 20, null);
        await Store.SaveOperatorTokenAsync(record);
        var read = await Store.GetOperatorTokenAsync("0123456789abcdef");
        Assert.NotNull(read);
        Assert.Equal(["users", "read"], read.Scopes);
        Assert.Equal([1, 2, 3], read.SecretHash);
        Assert.True(await Store.RevokeOperatorTokenAsync("0123456789abcdef", 15));
        Assert.False(await Store.RevokeOperatorTokenAsync("0123456789abcdef", 16));
        Assert.Equal(15, (await Store.GetOperatorTokenAsync("0123456789abcdef"))!.RevokedAt);
        Assert.Single(await Store.ListOperatorTokensAsync());
    }

    [StoreFact]
    public async Task Users_SearchCaseInsensitivePagedByIdAndDisabledMark()
    {
        foreach (var (id, nick) in new[] { ("u1", "Alice"), ("u2", "Bob"), ("u3", "ALIce Two"), ("u4", "Carol") })
        {
            await Store.CreateUserAsync(new UserRecord(id, nick, "", "{}", 1, 1));
        }

        Assert.Equal(["u1", "u3"], (await Store.SearchUsersAsync(" alice ", null, 10)).Select(u => u.User.UserId));
        Assert.Equal(["u3"], (await Store.SearchUsersAsync("alice", "u1", 10)).Select(u => u.User.UserId));
        Assert.Equal(["u1", "u2"], (await Store.SearchUsersAsync(null, null, 2)).Select(u => u.User.UserId));

        Assert.True(await Store.SetUserDisabledAsync("u2", 500));
        Assert.False(await Store.SetUserDisabledAsync("ghost", 500));
        Assert.Equal(500, (await Store.GetUserSummaryAsync("u2"))!.DisabledAt);
        Assert.True(await Store.SetUserDisabledAsync("u2", null));
        Assert.Null((await Store.GetUserSummaryAsync("u2"))!.DisabledAt);
        Assert.Null(await Store.GetUserSummaryAsync("ghost"));

        await Store.SaveTokenAsync(new TokenRecord("t1", "u1", "phone", 1, 100, 1000, null));
        await Store.SaveTokenAsync(new TokenRecord("t2", "u1", "web", 1, 200, 1000, null));
        Assert.Equal(["t2", "t1"], (await Store.ListUserTokensAsync("u1", 10)).Select(t => t.TokenId));
        Assert.Equal(["t2"], (await Store.ListUserTokensAsync("u1", 1)).Select(t => t.TokenId));
    }
}
