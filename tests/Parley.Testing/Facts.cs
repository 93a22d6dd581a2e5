using Npgsql;

namespace Parley.Testing;

/// <summary>A fact that needs PostgreSQL: skipped when PARLEY_TEST_POSTGRES is absent, unless CI=true (then it fails).</summary>
public sealed class PostgresFactAttribute : FactAttribute
{
    public const string Variable = "PARLEY_TEST_POSTGRES";

    public const string MissingMessage = "PARLEY_TEST_POSTGRES is not set: run .ci/setup.d/20-postgres.sh (CI=true requires it).";

    public PostgresFactAttribute()
    {
        if (string.IsNullOrEmpty(Environment.GetEnvironmentVariable(Variable))
            && !string.Equals(Environment.GetEnvironmentVariable("CI"), "true", StringComparison.OrdinalIgnoreCase))
        {
            Skip = MissingMessage;
        }
    }

    /// <summary>The test PostgreSQL's connection string; throws with <see cref="MissingMessage"/> when it is not set.</summary>
    public static string ConnectionString => Environment.GetEnvironmentVariable(Variable) ?? throw new InvalidOperationException(MissingMessage);

    /// <summary>The server settings that store everything in <paramref name="schema"/> of the test PostgreSQL (or of <paramref name="connectionString"/>).</summary>
    public static Dictionary<string, string?> ServerSettings(string schema, string? connectionString = null) => new()
    {
        ["Parley:Storage:Provider"] = "Postgres",
        ["Parley:Storage:Postgres:ConnectionString"] = connectionString ?? ConnectionString,
        ["Parley:Storage:Postgres:Schema"] = schema,
    };

    /// <summary>Drops a test's schema (and all in it) from the test PostgreSQL; nothing to do when it is not set.</summary>
    public static async Task DropSchemaAsync(string schema)
    {
        if (string.IsNullOrEmpty(Environment.GetEnvironmentVariable(Variable)))
        {
            return;
        }

        await using var connection = new NpgsqlConnection(ConnectionString);
        await connection.OpenAsync();
        await using var drop = new NpgsqlCommand($"DROP SCHEMA IF EXISTS \"{schema}\" CASCADE", connection);
        await drop.ExecuteNonQueryAsync();
    }
}

/// <summary>Needs PostgreSQL (PARLEY_TEST_POSTGRES) and Redis (PARLEY_TEST_REDIS); skipped without them outside CI only.</summary>
public sealed class ClusterFactAttribute : FactAttribute
{
    public const string RedisVariable = "PARLEY_TEST_REDIS";

    public const string MissingMessage = "PARLEY_TEST_POSTGRES and PARLEY_TEST_REDIS must be set: run .ci/setup.d/20-postgres.sh and 25-redis.sh (CI=true requires them).";

    public ClusterFactAttribute()
    {
        if ((string.IsNullOrEmpty(Environment.GetEnvironmentVariable(PostgresFactAttribute.Variable)) || string.IsNullOrEmpty(Environment.GetEnvironmentVariable(RedisVariable)))
            && !string.Equals(Environment.GetEnvironmentVariable("CI"), "true", StringComparison.OrdinalIgnoreCase))
        {
            Skip = MissingMessage;
        }
    }
}

/// <summary>A fact that needs the S3 test server: skipped when absent, unless CI=true (then it fails).</summary>
public sealed class S3FactAttribute : FactAttribute
{
    public S3FactAttribute()
    {
        if (string.IsNullOrEmpty(Environment.GetEnvironmentVariable("PARLEY_TEST_S3_ENDPOINT"))
            && !string.Equals(Environment.GetEnvironmentVariable("CI"), "true", StringComparison.OrdinalIgnoreCase))
        {
            Skip = "PARLEY_TEST_S3_ENDPOINT is not set: run .ci/setup.d/30-s3rver.sh.";
        }
    }

    /// <summary>
    /// The server settings that put media on the test S3 server (a fresh key prefix each call), or null when
    /// PARLEY_TEST_S3_ENDPOINT is not set.
    /// </summary>
    public static Dictionary<string, string?>? ServerSettings()
    {
        var endpoint = Environment.GetEnvironmentVariable("PARLEY_TEST_S3_ENDPOINT");
        return string.IsNullOrEmpty(endpoint) ? null : new()
        {
            ["Parley:Media:Store"] = "S3",
            ["Parley:Blobs:S3:ServiceUrl"] = endpoint,
            ["Parley:Blobs:S3:Bucket"] = Environment.GetEnvironmentVariable("PARLEY_TEST_S3_BUCKET") ?? "parley-test",
            ["Parley:Blobs:S3:AccessKey"] = Environment.GetEnvironmentVariable("PARLEY_TEST_S3_ACCESS_KEY") ?? "S3RVER",
            ["Parley:Blobs:S3:SecretKey"] = Environment.GetEnvironmentVariable("PARLEY_TEST_S3_SECRET_KEY") ?? "S3RVER",
            ["Parley:Blobs:S3:KeyPrefix"] = "it-" + Guid.NewGuid().ToString("N")[..8] + "/",
        };
    }
}
