using System.Data;
using System.Diagnostics;
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

    [Fact]
    public void Options_PoolSize_IsBoundedUnlessTheConnectionStringSetsOne()
    {
        Assert.Equal(32, new PostgresDatabase(new PostgresStoreOptions { ConnectionString = "Host=127.0.0.1" }).MaxPoolSize);
        Assert.Equal(5, new PostgresDatabase(new PostgresStoreOptions { ConnectionString = "Host=127.0.0.1", MaxPoolSize = 5 }).MaxPoolSize);
        Assert.Equal(7, new PostgresDatabase(new PostgresStoreOptions { ConnectionString = "Host=127.0.0.1;Maximum Pool Size=7", MaxPoolSize = 5 }).MaxPoolSize);
        Assert.Equal(9, new PostgresDatabase(new PostgresStoreOptions { ConnectionString = "Host=127.0.0.1;MaxPoolSize=9" }).MaxPoolSize);

        var error = Assert.Throws<ArgumentException>(() => new PostgresDatabase(new PostgresStoreOptions { ConnectionString = "Host=127.0.0.1", MaxPoolSize = 1 }));
        Assert.Contains("Parley:Storage:Postgres:MaxPoolSize", error.Message, StringComparison.Ordinal);
    }

    [StoreFact]
    public async Task Open_ServerFullForTheRole_IsTriedAgainUntilAConnectionFrees()
    {
        // A role the server takes two connections from: the store's pool holds one, another client the second, so the
        // store's next open is refused with 53300 until that client leaves.
        var role = "t_role_" + Guid.NewGuid().ToString("N")[..16];
        var database = new NpgsqlConnectionStringBuilder(_postgres.ConnectionString).Database ?? "postgres";
        await _postgres.ScalarAsync($"CREATE ROLE {role} LOGIN CONNECTION LIMIT 2; GRANT CREATE ON DATABASE \"{database}\" TO {role};");
        var connectionString = new NpgsqlConnectionStringBuilder(_postgres.ConnectionString) { Username = role }.ConnectionString;
        var owner = _postgres.Open(connectionString: connectionString);
        try
        {
            await owner.InitializeAsync();
            Assert.Equal(2, owner.ServerConnectionLimit);

            await using var first = await owner.OpenAsync();
            var other = new NpgsqlConnection(new NpgsqlConnectionStringBuilder(connectionString) { Pooling = false }.ConnectionString);
            await other.OpenAsync();
            try
            {
                var second = owner.OpenAsync();
                var waited = Stopwatch.StartNew();
                while (owner.OpenRetries == 0 && !second.IsCompleted && waited.Elapsed < TimeSpan.FromSeconds(30))
                {
                    await Task.Delay(5);
                }

                Assert.True(owner.OpenRetries > 0, "the full server's refusal was not tried again");
                Assert.False(second.IsCompleted, "the open finished while the role was at its limit");
                await other.CloseAsync();
                await using var opened = await second.WaitAsync(TimeSpan.FromSeconds(60));
                Assert.Equal(ConnectionState.Open, opened.State);
                Assert.Equal(1, Convert.ToInt32(await new NpgsqlCommand("SELECT 1", opened).ExecuteScalarAsync(), CultureInfo.InvariantCulture));
            }
            finally
            {
                await other.DisposeAsync();
            }
        }
        finally
        {
            await owner.DisposeAsync();
            await _postgres.ScalarAsync($"DROP SCHEMA IF EXISTS \"{_postgres.Schema}\" CASCADE; REVOKE CREATE ON DATABASE \"{database}\" FROM {role}; DROP OWNED BY {role}; DROP ROLE {role};");
        }
    }
}
