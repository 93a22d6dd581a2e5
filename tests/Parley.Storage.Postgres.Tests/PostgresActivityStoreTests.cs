using Parley.Abstractions.Messaging;
using Parley.Abstractions.Statistics;
using Parley.Storage.Compliance;
using Parley.Storage.Postgres.Statistics;

namespace Parley.Storage.Postgres.Tests;

/// <summary>The daily activity compliance suite against a real PostgreSQL server.</summary>
public sealed class PostgresActivityStoreTests : ActivityStoreComplianceTests
{
    private TestPostgres? _postgres;

    protected override (IMessageStore Messages, IActivityStore Store) OpenStores()
    {
        var owner = (_postgres ??= new TestPostgres()).Open();
        return (new PostgresMessageStore(owner), new PostgresActivityStore(owner));
    }

    public override async Task DisposeAsync()
    {
        if (_postgres is not null)
        {
            await _postgres.DisposeAsync();
        }
    }
}
