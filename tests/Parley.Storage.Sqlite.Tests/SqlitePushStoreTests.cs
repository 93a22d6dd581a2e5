using Parley.Abstractions.Push;
using Parley.Storage.Compliance;
using Parley.Storage.Sqlite.Push;

namespace Parley.Storage.Sqlite.Tests;

/// <summary>The push store compliance suite on a real SQLite file.</summary>
public sealed class SqlitePushStoreTests : PushStoreComplianceTests
{
    private readonly TempDatabase _database = new();
    private SqliteDatabase? _owner;

    protected override (IDeviceStore Devices, IPushJournal Journal, IPushSettingsStore Settings) OpenStores(byte[] tokenKey)
    {
        var owner = _owner ??= _database.Open();
        return (new SqliteDeviceStore(owner, tokenKey), new SqlitePushJournal(owner), new SqlitePushSettingsStore(owner));
    }

    public override Task DisposeAsync()
    {
        _database.Dispose();
        return Task.CompletedTask;
    }
}
