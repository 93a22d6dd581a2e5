using Parley.Abstractions.Accounts;
using Parley.Abstractions.Business;
using Parley.Abstractions.Push;
using Parley.Storage.Compliance;
using Parley.Storage.Postgres.Business;
using Parley.Storage.Postgres.Push;

namespace Parley.Storage.Postgres.Tests;

/// <summary>The campaign compliance suite against a real PostgreSQL server (the lease race runs on its row locks).</summary>
public sealed class PostgresCampaignStoreTests : CampaignStoreComplianceTests
{
    private TestPostgres? _postgres;

    protected override (IAccountStore Accounts, ICampaignStore Campaigns, IPushSettingsStore Settings) OpenStores()
    {
        var owner = (_postgres = new TestPostgres()).Open();
        return (new PostgresAccountStore(owner), new PostgresCampaignStore(owner), new PostgresPushSettingsStore(owner));
    }

    public override async Task DisposeAsync()
    {
        if (_postgres is not null)
        {
            await _postgres.DisposeAsync();
        }
    }
}
