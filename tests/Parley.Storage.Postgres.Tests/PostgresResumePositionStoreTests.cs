using Parley.Abstractions.Messaging;
using Parley.Storage.Compliance;
using Parley.Storage.Postgres.Sessions;

namespace Parley.Storage.Postgres.Tests;

/// <summary>The replay position compliance suite against a real PostgreSQL server.</summary>
public sealed class PostgresResumePositionStoreTests : ResumePositionStoreComplianceTests
{
    private TestPostgres? _postgres;

    protected override (IMessageStore Messages, IResumePositionStore Store) OpenStores()
    {
        var owner = (_postgres ??= new TestPostgres()).Open();
        return (new PostgresMessageStore(owner), new PostgresResumePositionStore(owner));
    }

    public override async Task DisposeAsync()
    {
        if (_postgres is not null)
        {
            await _postgres.DisposeAsync();
        }
    }
}
