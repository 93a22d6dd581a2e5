using Parley.Abstractions.Messaging;
using Parley.Abstractions.Webhooks;
using Parley.Storage.Compliance;
using Parley.Storage.Sqlite.Webhooks;

namespace Parley.Storage.Sqlite.Tests;

/// <summary>The webhook outbox compliance suite on a real SQLite file (one owner per file: the "second node" is the same owner).</summary>
public sealed class SqliteWebhookOutboxTests : WebhookOutboxComplianceTests
{
    private readonly TempDatabase _database = new();
    private SqliteDatabase? _owner;

    protected override (IMessageStore Messages, IWebhookOutbox Outbox) OpenStores()
    {
        var owner = _owner ??= _database.Open();
        return (new SqliteMessageStore(owner), new SqliteWebhookOutbox(owner));
    }

    protected override IWebhookOutbox OpenSecondNode() => new SqliteWebhookOutbox(_owner!);

    public override Task DisposeAsync()
    {
        _database.Dispose();
        return Task.CompletedTask;
    }
}
