using Npgsql;
using Parley.Storage.Compliance;

[assembly: RequiresStoreService(Parley.Storage.Postgres.Tests.TestPostgres.Variable, Parley.Storage.Postgres.Tests.TestPostgres.MissingMessage)]

namespace Parley.Storage.Postgres.Tests;

/// <summary>
/// The PostgreSQL server the tests use (PARLEY_TEST_POSTGRES, exported by .ci/setup.d/20-postgres.sh). Each instance
/// is one empty schema of its own (a fresh store), dropped on dispose, so tests run in parallel on one server.
/// </summary>
public sealed class TestPostgres : IAsyncDisposable
{
    public const string Variable = "PARLEY_TEST_POSTGRES";

    public const string MissingMessage =
        "PARLEY_TEST_POSTGRES is not set: start PostgreSQL with `PARLEY_CI_RUN=$(mktemp -d) source .ci/setup.d/20-postgres.sh` (under CI=true these tests run and fail instead).";

    private readonly List<PostgresDatabase> _owners = [];

    public TestPostgres()
    {
        ConnectionString = Environment.GetEnvironmentVariable(Variable) is { Length: > 0 } value
            ? value
            : throw new InvalidOperationException(MissingMessage);
        Schema = "t_" + Guid.NewGuid().ToString("N");
    }

    public string ConnectionString { get; }

    public string Schema { get; }

    public PostgresStoreOptions Options(bool durable = true, string? connectionString = null) =>
        new() { ConnectionString = connectionString ?? ConnectionString, Schema = Schema, Durable = durable };

    /// <summary>A new owner of this schema (what one server process has), disposed with this object.</summary>
    public PostgresDatabase Open(bool durable = true, string? connectionString = null, Action<PostgresStoreOptions>? configure = null)
    {
        var options = Options(durable, connectionString);
        configure?.Invoke(options);
        var owner = new PostgresDatabase(options);
        _owners.Add(owner);
        return owner;
    }

    /// <summary>One statement on a connection of its own, for checking what the stores wrote.</summary>
    public async Task<object?> ScalarAsync(string sql)
    {
        await using var connection = new NpgsqlConnection(new NpgsqlConnectionStringBuilder(ConnectionString) { SearchPath = Schema }.ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        return await command.ExecuteScalarAsync();
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var owner in _owners)
        {
            await owner.DisposeAsync();
        }

        await ScalarAsync($"DROP SCHEMA IF EXISTS \"{Schema}\" CASCADE;");
    }
}
