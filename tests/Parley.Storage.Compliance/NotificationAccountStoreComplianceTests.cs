using Parley.Abstractions.Accounts;
using Parley.Abstractions.Business;

namespace Parley.Storage.Compliance;

/// <summary>The behaviour every provider of <see cref="INotificationAccountStore"/> must show; SQLite and PostgreSQL run it unchanged.</summary>
public abstract class NotificationAccountStoreComplianceTests : IAsyncLifetime
{
    protected IAccountStore Accounts { get; private set; } = null!;

    protected INotificationAccountStore Store { get; private set; } = null!;

    /// <summary>An account store and a notification-account store over this test's (one, initially empty) storage.</summary>
    protected abstract (IAccountStore Accounts, INotificationAccountStore Store) OpenStores();

    public virtual async Task InitializeAsync()
    {
        (Accounts, Store) = OpenStores();
        await Accounts.InitializeAsync();
    }

    public virtual Task DisposeAsync() => Task.CompletedTask;

    private static UserRecord User(string id, string nickname, long at = 1_000) => new(id, nickname, "https://cdn/" + id + ".png", string.Empty, at, at);

    [StoreFact]
    public async Task Create_MakesAUserAndTheMark_AndRefusesAnyExistingUser()
    {
        Assert.True(await Store.CreateAsync(User("sys_orders", "Orders"), 3));
        var account = await Store.GetAsync("sys_orders");
        Assert.Equal(new NotificationAccount("sys_orders", "Orders", "https://cdn/sys_orders.png", 3, 1_000, 1_000), account);
        Assert.Equal("Orders", (await Accounts.GetUserAsync("sys_orders"))!.Nickname);

        // A second create, and a create over an ordinary user, write nothing and mark nothing.
        Assert.False(await Store.CreateAsync(User("sys_orders", "Other"), 4));
        Assert.Equal(3, (await Store.GetAsync("sys_orders"))!.Level);
        Assert.True(await Accounts.CreateUserAsync(User("alice", "Alice")));
        Assert.False(await Store.CreateAsync(User("alice", "Pretender"), 3));
        Assert.Null(await Store.GetAsync("alice"));
        Assert.Equal("Alice", (await Accounts.GetUserAsync("alice"))!.Nickname);
    }

    [StoreFact]
    public async Task Profile_IsTheUsers_SoAnUpdateShows()
    {
        Assert.True(await Store.CreateAsync(User("sys_news", "News"), 3));
        Assert.True(await Accounts.UpdateUserAsync("sys_news", "Newsroom", "https://cdn/n2.png", null, 2_000));
        Assert.Equal(new NotificationAccount("sys_news", "Newsroom", "https://cdn/n2.png", 3, 1_000, 2_000), await Store.GetAsync("sys_news"));
    }

    [StoreFact]
    public async Task GetMany_ReturnsOnlyNotificationAccounts()
    {
        Assert.True(await Store.CreateAsync(User("sys_a", "A"), 3));
        Assert.True(await Store.CreateAsync(User("sys_b", "B"), 4));
        Assert.True(await Accounts.CreateUserAsync(User("bob", "Bob")));
        var found = await Store.GetManyAsync(["sys_a", "bob", "sys_b", "nobody"]);
        Assert.Equal(["sys_a", "sys_b"], found.Select(a => a.UserId).Order(StringComparer.Ordinal));
        Assert.Empty(await Store.GetManyAsync([]));
    }

    [StoreFact]
    public async Task Search_MatchesIdOrNickname_FiltersLevel_PagesInIdOrder()
    {
        for (var i = 0; i < 7; i++)
        {
            Assert.True(await Store.CreateAsync(User($"sys_{i}", i % 2 == 0 ? $"Shop {i}" : $"Bank {i}"), i < 5 ? 3 : 4));
        }

        Assert.True(await Accounts.CreateUserAsync(User("shopper", "Shop fan")));
        Assert.True(await Store.CreateAsync(User("odd%_id", "Percent"), 3));

        var all = await Store.SearchAsync(null, null, 0, 100);
        Assert.Equal(8, all.Total);
        Assert.Equal(["odd%_id", "sys_0", "sys_1", "sys_2", "sys_3", "sys_4", "sys_5", "sys_6"], all.Accounts.Select(a => a.UserId));

        var shops = await Store.SearchAsync("shop", null, 0, 2);
        Assert.Equal(4, shops.Total); // sys_0, 2, 4, 6; the ordinary user "shopper" is not an account
        Assert.Equal(["sys_0", "sys_2"], shops.Accounts.Select(a => a.UserId));
        Assert.Equal(["sys_4", "sys_6"], (await Store.SearchAsync("SHOP", null, 2, 2)).Accounts.Select(a => a.UserId));

        var robots = await Store.SearchAsync(null, 4, 0, 100);
        Assert.Equal(["sys_5", "sys_6"], robots.Accounts.Select(a => a.UserId));
        Assert.Equal(2, robots.Total);

        // LIKE wildcards in the keyword are literal.
        Assert.Equal(["odd%_id"], (await Store.SearchAsync("%_", null, 0, 10)).Accounts.Select(a => a.UserId));
        Assert.Equal(0, (await Store.SearchAsync("nothing", null, 0, 10)).Total);
    }
}
