using System.Globalization;
using Npgsql;
using Parley.Storage.Compliance;

namespace Parley.Storage.Postgres.Tests;

/// <summary>The owner: durability check, versioned migrations, options.</summary>
public sealed class PostgresDatabaseTests : IAsyncLifetime
{
    private TestPostgres _postgres = null!;

    public Task InitializeAsync()
    {
        if (StoreTestEnvironment.SkipReason is null)
        {
            _postgres = new TestPostgres();
        }

        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        if (_postgres is not null)
        {
            await _postgres.DisposeAsync();
        }
    }

    [StoreFact]
    public async Task Initialize_DurableMode_RefusesSynchronousCommitOff()
    {
        var unsafeSettings = new NpgsqlConnectionStringBuilder(_postgres.ConnectionString) { Options = "-c synchronous_commit=off" }.ConnectionString;
        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => _postgres.Open(connectionString: unsafeSettings).InitializeAsync());
        Assert.Contains("synchronous_commit=off", error.Message, StringComparison.Ordinal);
        Assert.Contains("Parley:Storage:Durable", error.Message, StringComparison.Ordinal);

        // Nothing was created in durable mode; non-durable mode (benchmarks) accepts the same server.
        Assert.Equal(0L, Convert.ToInt64(await _postgres.ScalarAsync($"SELECT COUNT(*) FROM pg_namespace WHERE nspname = '{_postgres.Schema}'"), CultureInfo.InvariantCulture));
        var relaxed = _postgres.Open(durable: false, connectionString: unsafeSettings);
        await relaxed.InitializeAsync();
        Assert.True(relaxed.IsReady);
    }

    [StoreFact]
    public async Task Initialize_TwoOwnersAtOnce_MigrateOnceAndRecordEveryVersion()
    {
        var first = _postgres.Open();
        var second = _postgres.Open();
        await Task.WhenAll(first.InitializeAsync(), second.InitializeAsync(), first.InitializeAsync());

        var versions = Convert.ToInt64(await _postgres.ScalarAsync("SELECT COUNT(*) FROM schema_migrations"), CultureInfo.InvariantCulture);
        Assert.Equal(Internal.PostgresMigrations.All.Count, versions);
        Assert.Equal(Internal.PostgresMigrations.LatestVersion, Convert.ToInt32(await _postgres.ScalarAsync("SELECT MAX(version) FROM schema_migrations"), CultureInfo.InvariantCulture));

        // A restart finds everything applied.
        await _postgres.Open().InitializeAsync();
        Assert.Equal(versions, Convert.ToInt64(await _postgres.ScalarAsync("SELECT COUNT(*) FROM schema_migrations"), CultureInfo.InvariantCulture));
    }

    [StoreFact]
    public async Task Initialize_SchemaFromANewerBuild_IsRefusedWithTheVersions()
    {
        await _postgres.Open().InitializeAsync();
        await _postgres.ScalarAsync("INSERT INTO schema_migrations (version) VALUES (9999)");
        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => _postgres.Open().InitializeAsync());
        Assert.Contains("9999", error.Message, StringComparison.Ordinal);
        Assert.Contains("newer", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("", "parley", "ConnectionString is required")]
    [InlineData("Host=127.0.0.1;NoSuchKeyword=1", "parley", "not a valid Npgsql connection string")]
    [InlineData("Host=127.0.0.1", "bad-schema\"; DROP", "not a plain identifier")]
    public void Options_Invalid_AreRefusedNamingTheSetting(string connectionString, string schema, string expected)
    {
        var error = Assert.Throws<ArgumentException>(() => new PostgresDatabase(new PostgresStoreOptions { ConnectionString = connectionString, Schema = schema }));
        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
        Assert.Contains("Parley:Storage:Postgres", error.Message, StringComparison.Ordinal);
    }
}
