using Parley.Abstractions.Accounts;
using Parley.Abstractions.Business;
using Parley.Storage.Compliance;
using Parley.Storage.Sqlite.Business;

namespace Parley.Storage.Sqlite.Tests;

/// <summary>The notification-account compliance suite on a real SQLite file.</summary>
public sealed class SqliteNotificationAccountStoreTests : NotificationAccountStoreComplianceTests
{
    private readonly TempDatabase _database = new();

    protected override (IAccountStore Accounts, INotificationAccountStore Store) OpenStores()
    {
        var owner = _database.Open();
        return (new SqliteAccountStore(owner), new SqliteNotificationAccountStore(owner));
    }

    public override Task DisposeAsync()
    {
        _database.Dispose();
        return Task.CompletedTask;
    }
}
