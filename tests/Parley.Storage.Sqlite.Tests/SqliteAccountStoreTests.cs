using Parley.Abstractions.Accounts;

namespace Parley.Storage.Sqlite.Tests;

public sealed class SqliteAccountStoreTests : IAsyncLifetime
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

    private static TokenRecord Token(string id, string user, string device, long expiresAt = 10_000, long? revokedAt = null) =>
        new(id, user, device, 1, 100, expiresAt, revokedAt);

    [Fact]
    public async Task CreateUser_NewAndDuplicate_SecondReturnsFalseAndKeepsFirst()
    {
        var alice = new UserRecord("alice", "Alice", "https://a/x.png", "{\"k\":1}", 10, 11);
        Assert.True(await _store.CreateUserAsync(alice));
        Assert.False(await _store.CreateUserAsync(alice with { Nickname = "Impostor" }));
        Assert.Equal(alice, await _store.GetUserAsync("alice"));
        Assert.Null(await _store.GetUserAsync("bob"));
    }

    [Fact]
    public async Task UpdateUser_OnlyNonNullFields_AndFalseForUnknownUser()
    {
        await _store.CreateUserAsync(new UserRecord("alice", "Alice", "a.png", "{}", 10, 10));

        Assert.True(await _store.UpdateUserAsync("alice", "Ally", null, null, 20));
        Assert.Equal(new UserRecord("alice", "Ally", "a.png", "{}", 10, 20), await _store.GetUserAsync("alice"));

        Assert.True(await _store.UpdateUserAsync("alice", null, "b.png", "{\"x\":2}", 30));
        Assert.Equal(new UserRecord("alice", "Ally", "b.png", "{\"x\":2}", 10, 30), await _store.GetUserAsync("alice"));

        Assert.False(await _store.UpdateUserAsync("nobody", "X", null, null, 40));
    }

    [Fact]
    public async Task GetUsers_ReturnsOnlyExistingOnes()
    {
        await _store.CreateUserAsync(new UserRecord("alice", "Alice", "", "", 1, 1));
        await _store.CreateUserAsync(new UserRecord("bob", "Bob", "", "", 1, 1));
        await _store.CreateUserAsync(new UserRecord("carol", "Carol", "", "", 1, 1));

        var users = await _store.GetUsersAsync(["carol", "alice", "ghost", "o'brien\"]"]);
        Assert.Equal(["alice", "carol"], users.Select(u => u.UserId).Order(StringComparer.Ordinal));
        Assert.Empty(await _store.GetUsersAsync([]));
    }

    [Fact]
    public async Task Tokens_SaveGetAndRevokeOnce()
    {
        var token = Token("t1", "alice", "phone");
        await _store.SaveTokenAsync(token);
        Assert.Equal(token, await _store.GetTokenAsync("t1"));
        Assert.Null(await _store.GetTokenAsync("t2"));

        Assert.True(await _store.RevokeTokenAsync("t1", 500));
        Assert.Equal(token with { RevokedAt = 500 }, await _store.GetTokenAsync("t1"));
        Assert.False(await _store.RevokeTokenAsync("t1", 600));
        Assert.Equal(500, (await _store.GetTokenAsync("t1"))!.RevokedAt);
        Assert.False(await _store.RevokeTokenAsync("missing", 600));
    }

    [Fact]
    public async Task RevokeUserTokens_RevokesOnlyValidOnes_OptionallyOneDevice()
    {
        await _store.SaveTokenAsync(Token("p1", "alice", "phone"));
        await _store.SaveTokenAsync(Token("p2", "alice", "phone"));
        await _store.SaveTokenAsync(Token("w1", "alice", "web"));
        await _store.SaveTokenAsync(Token("old", "alice", "web", revokedAt: 50));
        await _store.SaveTokenAsync(Token("b1", "bob", "phone"));

        var phone = await _store.RevokeUserTokensAsync("alice", "phone", 700);
        Assert.Equal(["p1", "p2"], phone.Order(StringComparer.Ordinal));
        Assert.Null((await _store.GetTokenAsync("w1"))!.RevokedAt);

        var rest = await _store.RevokeUserTokensAsync("alice", null, 800);
        Assert.Equal(["w1"], rest);
        Assert.Equal(50, (await _store.GetTokenAsync("old"))!.RevokedAt);
        Assert.Equal(700, (await _store.GetTokenAsync("p1"))!.RevokedAt);
        Assert.Null((await _store.GetTokenAsync("b1"))!.RevokedAt);
        Assert.Empty(await _store.RevokeUserTokensAsync("alice", null, 900));
    }

    [Fact]
    public async Task DeleteExpiredTokens_DeletesOnlyThoseExpiredBeforeNow()
    {
        await _store.SaveTokenAsync(Token("a", "alice", "phone", expiresAt: 100));
        await _store.SaveTokenAsync(Token("b", "alice", "web", expiresAt: 199));
        await _store.SaveTokenAsync(Token("c", "alice", "pad", expiresAt: 200));
        await _store.SaveTokenAsync(Token("d", "bob", "pad", expiresAt: 300));

        Assert.Equal(2, await _store.DeleteExpiredTokensAsync(200));
        Assert.Null(await _store.GetTokenAsync("a"));
        Assert.Null(await _store.GetTokenAsync("b"));
        Assert.NotNull(await _store.GetTokenAsync("c"));
        Assert.NotNull(await _store.GetTokenAsync("d"));
        Assert.Equal(0, await _store.DeleteExpiredTokensAsync(200));
    }

    [Fact]
    public async Task Operations_BeforeInitialize_Throw()
    {
        var store = new SqliteAccountStore(_database.Open());
        await Assert.ThrowsAsync<InvalidOperationException>(() => store.GetUserAsync("alice"));
    }
}
