using Parley.Abstractions.Accounts;

namespace Parley.Storage.Compliance;

/// <summary>The behaviour every provider of <see cref="IUserTagStore"/> must show; SQLite and PostgreSQL run it unchanged.</summary>
public abstract class UserTagStoreComplianceTests : IAsyncLifetime
{
    protected IUserTagStore Tags { get; private set; } = null!;

    private IAccountStore Accounts { get; set; } = null!;

    /// <summary>The stores over this test's (one, initially empty) storage; the account store initialises it.</summary>
    protected abstract (IAccountStore Accounts, IUserTagStore Tags) OpenStores();

    public virtual async Task InitializeAsync()
    {
        (Accounts, Tags) = OpenStores();
        await Accounts.InitializeAsync();
    }

    public virtual Task DisposeAsync() => Task.CompletedTask;

    [StoreFact]
    public async Task Set_ReplacesTheUsersTags_DuplicatesOnce_EmptyRemovesAll_OthersUntouched()
    {
        await Tags.SetAsync("u1", ["vip", "plan:pro", "vip", "region.eu"]);
        await Tags.SetAsync("u2", ["vip"]);
        Assert.Equal(["plan:pro", "region.eu", "vip"], await Tags.GetAsync("u1"));

        await Tags.SetAsync("u1", ["beta", "vip"]);
        Assert.Equal(["beta", "vip"], await Tags.GetAsync("u1"));
        Assert.Equal(["vip"], await Tags.GetAsync("u2"));

        await Tags.SetAsync("u1", []);
        Assert.Empty(await Tags.GetAsync("u1"));
        Assert.Empty(await Tags.GetAsync("nobody"));
        Assert.Equal(["u2"], await Tags.ListUsersAsync(["vip"], matchAll: false, null, 10));
    }

    [StoreFact]
    public async Task ListUsers_AnyOrAll_InOrdinalUserIdOrder_Paged_CaseSensitive()
    {
        await Tags.SetAsync("u10", ["vip", "beta"]);
        await Tags.SetAsync("u2", ["vip"]);
        await Tags.SetAsync("U3", ["beta"]);
        await Tags.SetAsync("u4", ["VIP", "beta"]);
        await Tags.SetAsync("u5", ["other"]);

        Assert.Equal(["U3", "u10", "u2", "u4"], await Tags.ListUsersAsync(["vip", "beta"], matchAll: false, null, 10));
        Assert.Equal(["u10"], await Tags.ListUsersAsync(["vip", "beta"], matchAll: true, null, 10));
        Assert.Equal(["u10"], await Tags.ListUsersAsync(["vip", "beta", "vip"], matchAll: true, null, 10)); // a repeated tag is one tag
        Assert.Equal(["u10", "u2"], await Tags.ListUsersAsync(["vip"], matchAll: true, null, 10));
        Assert.Equal(["u4"], await Tags.ListUsersAsync(["VIP"], matchAll: false, null, 10));

        // Pages: after the last id of the previous page.
        Assert.Equal(["U3", "u10"], await Tags.ListUsersAsync(["vip", "beta"], matchAll: false, null, 2));
        Assert.Equal(["u2", "u4"], await Tags.ListUsersAsync(["vip", "beta"], matchAll: false, "u10", 2));
        Assert.Empty(await Tags.ListUsersAsync(["vip", "beta"], matchAll: false, "u4", 2));
        Assert.Empty(await Tags.ListUsersAsync(["none"], matchAll: false, null, 10));
        Assert.Empty(await Tags.ListUsersAsync([], matchAll: false, null, 10));
    }
}
