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

    // Stop 41: SQLite's re-read hands back an unchanged row's copy itself (nothing allocated) and never a copy whose text
    // SQLite could not hold as it is (a lone surrogate is stored as replacement characters: the row's value is what is read).
    [Fact]
    public async Task Journal_ReadCurrent_UnchangedRowIsTheCopy_LoneSurrogateIsTheStoredText()
    {
        var (_, journal, _) = OpenStores(new byte[32]);
        var same = Push("s1", "m1", 100) with { Owner = "n1/a", UserId = "ünïcode-😀" };
        var odd = Push("s2", "m1", 101) with { Owner = "n1/a", DeviceId = "dev\uD800" };
        var changed = Push("s3", "m1", 102) with { Owner = "n1/a" };
        await journal.AppendAsync([same, odd, changed]);
        await journal.UpdateStatesAsync([new("s3", PushState.Sending, 1, 102, null, null)]);

        var read = (await journal.ReadCurrentAsync([same, odd, changed])).ToDictionary(r => r.PushId);
        Assert.Same(same, read["s1"]);
        Assert.NotEqual(odd.DeviceId, read["s2"].DeviceId); // SQLite holds replacement characters, not the copy's text
        Assert.Equal(await journal.GetAsync("s2"), read["s2"]);
        Assert.Equal(PushState.Sending, read["s3"].State);
        Assert.Same(changed.Payload, read["s3"].Payload); // the unchanged strings are the copy's
        Assert.Equal(await journal.GetAsync("s3"), read["s3"]);
    }

    public override Task DisposeAsync()
    {
        _database.Dispose();
        return Task.CompletedTask;
    }
}
