using Parley.Abstractions.Accounts;
using Parley.Abstractions.Business;
using Parley.Storage.Compliance;
using Parley.Storage.Postgres.Business;

namespace Parley.Storage.Postgres.Tests;

/// <summary>The notification-account compliance suite against a real PostgreSQL server.</summary>
public sealed class PostgresNotificationAccountStoreTests : NotificationAccountStoreComplianceTests
{
    private TestPostgres? _postgres;

    protected override (IAccountStore Accounts, INotificationAccountStore Store) OpenStores()
    {
        var owner = (_postgres = new TestPostgres()).Open();
        return (new PostgresAccountStore(owner), new PostgresNotificationAccountStore(owner));
    }

    public override async Task DisposeAsync()
    {
        if (_postgres is not null)
        {
            await _postgres.DisposeAsync();
        }
    }
}
