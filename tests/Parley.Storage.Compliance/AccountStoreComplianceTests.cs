using Parley.Abstractions.Accounts;

namespace Parley.Storage.Compliance;

/// <summary>
/// The behaviour every <see cref="IAccountStore"/> provider must show (SQLite and PostgreSQL run it unchanged). A
/// provider's test class derives from this and supplies a fresh, empty store per test.
/// </summary>
public abstract class AccountStoreComplianceTests : IAsyncLifetime
{
    protected IAccountStore Store { get; private set; } = null!;

    /// <summary>Creates a new store over empty storage. The base class initializes it.</summary>
    protected abstract IAccountStore CreateStore();

    public virtual async Task InitializeAsync()
    {
        Store = CreateStore();
        await Store.InitializeAsync();
    }

    public virtual Task DisposeAsync() => Task.CompletedTask;

    protected static TokenRecord Token(string id, string user, string device, long expiresAt = 10_000, long? revokedAt = null) =>
        new(id, user, device, 1, 100, expiresAt, revokedAt);

    [StoreFact]
    public async Task CreateUser_NewAndDuplicate_SecondReturnsFalseAndKeepsFirst()
    {
        var alice = new UserRecord("alice", "Alice", "https://a/x.png", "{\"k\":1}", 10, 11);
        Assert.True(await Store.CreateUserAsync(alice));
        Assert.False(await Store.CreateUserAsync(alice with { Nickname = "Impostor" }));
        Assert.Equal(alice, await Store.GetUserAsync("alice"));
        Assert.Null(await Store.GetUserAsync("bob"));
    }

    [StoreFact]
    public async Task UpdateUser_OnlyNonNullFields_AndFalseForUnknownUser()
    {
        await Store.CreateUserAsync(new UserRecord("alice", "Alice", "a.png", "{}", 10, 10));

        Assert.True(await Store.UpdateUserAsync("alice", "Ally", null, null, 20));
        Assert.Equal(new UserRecord("alice", "Ally", "a.png", "{}", 10, 20), await Store.GetUserAsync("alice"));

        Assert.True(await Store.UpdateUserAsync("alice", null, "b.png", "{\"x\":2}", 30));
        Assert.Equal(new UserRecord("alice", "Ally", "b.png", "{\"x\":2}", 10, 30), await Store.GetUserAsync("alice"));

        Assert.False(await Store.UpdateUserAsync("nobody", "X", null, null, 40));
    }

    [StoreFact]
    public async Task GetUsers_ReturnsOnlyExistingOnes()
    {
        await Store.CreateUserAsync(new UserRecord("alice", "Alice", "", "", 1, 1));
        await Store.CreateUserAsync(new UserRecord("bob", "Bob", "", "", 1, 1));
        await Store.CreateUserAsync(new UserRecord("carol", "Carol", "", "", 1, 1));

        var users = await Store.GetUsersAsync(["carol", "alice", "ghost", "o'brien\"]"]);
        Assert.Equal(["alice", "carol"], users.Select(u => u.UserId).Order(StringComparer.Ordinal));
        Assert.Empty(await Store.GetUsersAsync([]));
    }

    [StoreFact]
    public async Task Tokens_SaveGetAndRevokeOnce()
    {
        var token = Token("t1", "alice", "phone");
        await Store.SaveTokenAsync(token);
        Assert.Equal(token, await Store.GetTokenAsync("t1"));
        Assert.Null(await Store.GetTokenAsync("t2"));

        Assert.True(await Store.RevokeTokenAsync("t1", 500));
        Assert.Equal(token with { RevokedAt = 500 }, await Store.GetTokenAsync("t1"));
        Assert.False(await Store.RevokeTokenAsync("t1", 600));
        Assert.Equal(500, (await Store.GetTokenAsync("t1"))!.RevokedAt);
        Assert.False(await Store.RevokeTokenAsync("missing", 600));
    }

    [StoreFact]
    public async Task RevokeUserTokens_RevokesOnlyValidOnes_OptionallyOneDevice()
    {
        await Store.SaveTokenAsync(Token("p1", "alice", "phone"));
        await Store.SaveTokenAsync(Token("p2", "alice", "phone"));
        await Store.SaveTokenAsync(Token("w1", "alice", "web"));
        await Store.SaveTokenAsync(Token("old", "alice", "web", revokedAt: 50));
        await Store.SaveTokenAsync(Token("b1", "bob", "phone"));

        var phone = await Store.RevokeUserTokensAsync("alice", "phone", 700);
        Assert.Equal(["p1", "p2"], phone.Order(StringComparer.Ordinal));
        Assert.Null((await Store.GetTokenAsync("w1"))!.RevokedAt);

        var rest = await Store.RevokeUserTokensAsync("alice", null, 800);
        Assert.Equal(["w1"], rest);
        Assert.Equal(50, (await Store.GetTokenAsync("old"))!.RevokedAt);
        Assert.Equal(700, (await Store.GetTokenAsync("p1"))!.RevokedAt);
        Assert.Null((await Store.GetTokenAsync("b1"))!.RevokedAt);
        Assert.Empty(await Store.RevokeUserTokensAsync("alice", null, 900));
    }

    [StoreFact]
    public async Task DeleteExpiredTokens_DeletesOnlyThoseExpiredBeforeNow()
    {
        await Store.SaveTokenAsync(Token("a", "alice", "phone", expiresAt: 100));
        await Store.SaveTokenAsync(Token("b", "alice", "web", expiresAt: 199));
        await Store.SaveTokenAsync(Token("c", "alice", "pad", expiresAt: 200));
        await Store.SaveTokenAsync(Token("d", "bob", "pad", expiresAt: 300));

        Assert.Equal(2, await Store.DeleteExpiredTokensAsync(200));
        Assert.Null(await Store.GetTokenAsync("a"));
        Assert.Null(await Store.GetTokenAsync("b"));
        Assert.NotNull(await Store.GetTokenAsync("c"));
        Assert.NotNull(await Store.GetTokenAsync("d"));
        Assert.Equal(0, await Store.DeleteExpiredTokensAsync(200));
    }


    [StoreFact]
    public async Task Users_IdsWithQuotesAndUnicode_RoundTripExactly()
    {
        var odd = new UserRecord("o'brien\"; DROP TABLE users;--", "Zoë 🦜", "", "{\"ü\":\"\\u0000x\"}", 5, 6);
        Assert.True(await Store.CreateUserAsync(odd));
        Assert.Equal(odd, await Store.GetUserAsync(odd.UserId));
        Assert.Equal([odd], await Store.GetUsersAsync([odd.UserId]));
    }
}
