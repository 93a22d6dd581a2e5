using Parley.Abstractions.Accounts;
using Parley.Abstractions.Business;
using Parley.Abstractions.Push;
using Parley.Storage.Compliance;
using Parley.Storage.Sqlite.Business;
using Parley.Storage.Sqlite.Push;

namespace Parley.Storage.Sqlite.Tests;

/// <summary>The campaign compliance suite on a real SQLite file.</summary>
public sealed class SqliteCampaignStoreTests : CampaignStoreComplianceTests
{
    private readonly TempDatabase _database = new();

    protected override (IAccountStore Accounts, ICampaignStore Campaigns, IPushSettingsStore Settings) OpenStores()
    {
        var owner = _database.Open();
        return (new SqliteAccountStore(owner), new SqliteCampaignStore(owner), new SqlitePushSettingsStore(owner));
    }

    public override Task DisposeAsync()
    {
        _database.Dispose();
        return Task.CompletedTask;
    }
}
