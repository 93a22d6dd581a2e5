using Parley.Abstractions.Messaging;
using Parley.Storage.Compliance;

namespace Parley.Storage.Postgres.Tests;

/// <summary>
/// The message store compliance suite's PostgreSQL set-up, shared by its runs: a schema of its own per test class
/// instance, dropped on dispose, and the rewind of migration 7 for the direct-conversation-id test. The runs differ only
/// in the store options (<paramref name="configure"/>: e.g. the forced compaction of ADR 0021).
/// </summary>
public abstract class PostgresComplianceFixture(Action<PostgresStoreOptions>? configure = null) : MessageStoreComplianceTests
{
    private TestPostgres? _postgres;

    protected TestPostgres Postgres => _postgres ??= new TestPostgres();

    protected override IMessageStore CreateStore() => new PostgresMessageStore(Postgres.Open(configure: configure));

    protected override int DirectConversationIdMigration => 7;

    protected override Task ExecuteSqlAsync(string sql) => Postgres.ScalarAsync(sql);

    // Migration 7 rewrites members.conversation_id; since migration 23 members name their conversation by its key, so
    // the rewind puts the rows back in the layout of version 22 (every value kept; packed members back into rows and
    // migrations 25, 27 and 31 undone) and migrations 23 to 31 that the rewind removed run again after 7.
    protected override Task RewindDirectConversationIdMigrationAsync() =>
        Postgres.ScalarAsync("DELETE FROM schema_migrations WHERE version IN (7, 23, 25, 27, 29, 30, 31);" + PostgresMemberLayouts.BackToTextConversationIds);

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        if (_postgres is not null)
        {
            await _postgres.DisposeAsync();
        }
    }
}
