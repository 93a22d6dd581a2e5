using Parley.Abstractions.Media;
using Parley.Storage.Compliance;
using Parley.Storage.Postgres.Media;

namespace Parley.Storage.Postgres.Tests;

/// <summary>The media store compliance suite against a real PostgreSQL server.</summary>
public sealed class PostgresMediaStoreTests : MediaStoreComplianceTests
{
    private TestPostgres? _postgres;

    protected override IMediaStore CreateStore() => new PostgresMediaStore((_postgres ??= new TestPostgres()).Open());

    public override async Task DisposeAsync()
    {
        if (_postgres is not null)
        {
            await _postgres.DisposeAsync();
        }
    }
}
