using Parley.Abstractions.Push;
using Parley.Storage.Compliance;
using Parley.Storage.Postgres.Push;

namespace Parley.Storage.Postgres.Tests;

/// <summary>The push store compliance suite against a real PostgreSQL server.</summary>
public sealed class PostgresPushStoreTests : PushStoreComplianceTests
{
    private TestPostgres? _postgres;
    private PostgresDatabase? _owner;

    protected override (IDeviceStore Devices, IPushJournal Journal, IPushSettingsStore Settings) OpenStores(byte[] tokenKey)
    {
        var owner = _owner ??= (_postgres ??= new TestPostgres()).Open();
        return (new PostgresDeviceStore(owner, tokenKey), new PostgresPushJournal(owner), new PostgresPushSettingsStore(owner));
    }

    public override async Task DisposeAsync()
    {
        if (_postgres is not null)
        {
            await _postgres.DisposeAsync();
        }
    }
}
