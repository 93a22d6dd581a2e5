using Parley.Abstractions.Messaging;
using Parley.Abstractions.Webhooks;
using Parley.Storage.Compliance;
using Parley.Storage.Postgres.Webhooks;

namespace Parley.Storage.Postgres.Tests;

/// <summary>
/// The webhook outbox compliance suite against a real PostgreSQL server; the "second node" is a second owner of the same
/// schema (its own connection pool, as another server process has), so concurrent claims really contend in the server.
/// </summary>
public sealed class PostgresWebhookOutboxTests : WebhookOutboxComplianceTests
{
    private TestPostgres? _postgres;

    protected override (IMessageStore Messages, IWebhookOutbox Outbox) OpenStores()
    {
        var owner = (_postgres ??= new TestPostgres()).Open();
        return (new PostgresMessageStore(owner), new PostgresWebhookOutbox(owner));
    }

    protected override IWebhookOutbox OpenSecondNode()
    {
        var owner = _postgres!.Open();
        owner.InitializeAsync().GetAwaiter().GetResult();
        return new PostgresWebhookOutbox(owner);
    }

    public override async Task DisposeAsync()
    {
        if (_postgres is not null)
        {
            await _postgres.DisposeAsync();
        }
    }
}
