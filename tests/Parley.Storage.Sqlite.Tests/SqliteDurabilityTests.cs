namespace Parley.Storage.Sqlite.Tests;

public sealed class SqliteDurabilityTests : IDisposable
{
    private readonly TempDatabase _database = new();

    public void Dispose() => _database.Dispose();

    [Theory]
    [InlineData(SqliteSynchronous.Normal)]
    [InlineData(SqliteSynchronous.Off)]
    public async Task Initialize_DurableWithWeakSynchronous_Refuses(SqliteSynchronous synchronous)
    {
        await using var store = new SqliteMessageStore(_database.Open(durable: true, synchronous));
        var ex = await Assert.ThrowsAsync<InvalidOperationException>(() => store.InitializeAsync());
        Assert.Contains("synchronous=FULL", ex.Message, StringComparison.Ordinal);
        Assert.Contains("durable", ex.Message, StringComparison.OrdinalIgnoreCase);

        var accounts = new SqliteAccountStore(_database.Open(durable: true, synchronous));
        await Assert.ThrowsAsync<InvalidOperationException>(() => accounts.InitializeAsync());
    }

    [Fact]
    public async Task Initialize_DurableWithFull_SucceedsAndReadsBackWalAndFull()
    {
        await using var store = new SqliteMessageStore(_database.Open(durable: true, SqliteSynchronous.Full));
        await store.InitializeAsync();

        var (journalMode, synchronous) = await store.ReadWriterSettingsAsync();
        Assert.Equal("wal", journalMode);
        Assert.Equal(2, synchronous);
        Assert.Equal("wal", _database.Scalar("PRAGMA journal_mode"));
        Assert.True(Directory.Exists(Path.GetDirectoryName(_database.FilePath)));
    }

    [Fact]
    public async Task Initialize_NonDurableWithNormal_IsAllowedAndReallyApplied()
    {
        await using var store = new SqliteMessageStore(_database.Open(durable: false, SqliteSynchronous.Normal));
        await store.InitializeAsync();

        var (journalMode, synchronous) = await store.ReadWriterSettingsAsync();
        Assert.Equal("wal", journalMode);
        Assert.Equal(1, synchronous);
    }

    [Fact]
    public void Constructor_WithoutDataSource_Throws()
    {
        Assert.Throws<ArgumentException>(() => new SqliteDatabase(new SqliteStoreOptions()));
        Assert.Throws<ArgumentException>(() => new SqliteDatabase(new SqliteStoreOptions { DataSource = " " }));
    }
}
