using Npgsql;
using Parley.Abstractions.Webhooks;
using static Parley.Storage.Postgres.Internal.PostgresRows;

namespace Parley.Storage.Postgres.Webhooks;

/// <summary>
/// <see cref="IWebhookOutbox"/> on PostgreSQL, shared by every node of a cluster. A claim takes due rows with
/// <c>FOR UPDATE SKIP LOCKED</c> and leases them to the claiming node in the same statement, so two nodes claiming at
/// once get disjoint rows; every later change is conditional on the lease (<c>leased_by</c>), so a node whose lease
/// ran out (it was paused, another node took the event over) cannot overwrite the new holder's outcome.
/// </summary>
public sealed class PostgresWebhookOutbox : IWebhookOutbox
{
    private const string Columns = "event_id, hook, payload, created_at, next_attempt_at, attempts, state, last_error, finished_at";

    private readonly PostgresDatabase _database;

    public PostgresWebhookOutbox(PostgresDatabase database)
    {
        ArgumentNullException.ThrowIfNull(database);
        _database = database;
    }

    /// <summary>One multi-row insert of <paramref name="events"/> (for the message commit's batch, in its transaction).</summary>
    internal static NpgsqlBatchCommand InsertCommand(IReadOnlyList<WebhookEvent> events) =>
        BatchCommand(InsertSql, InsertParameters(events));

    private const string InsertSql = """
        INSERT INTO webhook_outbox (event_id, hook, payload, created_at, next_attempt_at, attempts, state, last_error, finished_at)
        SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[], $5::bigint[], $6::integer[], $7::integer[], $8::text[], $9::bigint[])
        ON CONFLICT (event_id) DO NOTHING;
        """;

    private static NpgsqlParameter[] InsertParameters(IReadOnlyList<WebhookEvent> events) =>
    [
        P(events.Select(e => e.EventId).ToArray()),
        P(events.Select(e => e.Hook).ToArray()),
        P(events.Select(e => e.Payload).ToArray()),
        P(events.Select(e => e.CreatedAt).ToArray()),
        P(events.Select(e => e.NextAttemptAt).ToArray()),
        P(events.Select(e => e.Attempts).ToArray()),
        P(events.Select(e => (int)e.State).ToArray()),
        P(events.Select(e => e.LastError).ToArray()),
        P(events.Select(e => e.FinishedAt).ToArray()),
    ];

    public async Task EnqueueAsync(IReadOnlyList<WebhookEvent> events, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(events);
        if (events.Count > 0)
        {
            await _database.ExecuteAsync(InsertSql, cancellationToken, InsertParameters(events)).ConfigureAwait(false);
        }
    }

    public async Task<IReadOnlyList<WebhookEvent>> ClaimAsync(string owner, long now, long leaseUntil, int limit, CancellationToken cancellationToken = default) =>
        await _database.QueryAsync(
            $"""
            UPDATE webhook_outbox o SET leased_by = $1, leased_until = $2
            FROM (SELECT event_id FROM webhook_outbox
                  WHERE state = 0 AND next_attempt_at <= $3 AND leased_until <= $3
                  ORDER BY next_attempt_at, event_id LIMIT $4
                  FOR UPDATE SKIP LOCKED) due
            WHERE o.event_id = due.event_id
            RETURNING o.event_id, o.hook, o.payload, o.created_at, o.next_attempt_at, o.attempts, o.state, o.last_error, o.finished_at;
            """,
            Read,
            cancellationToken,
            P(owner),
            P(leaseUntil),
            P(now),
            P(limit)).ConfigureAwait(false);

    public Task<bool> MarkDeliveredAsync(string eventId, string owner, int attempts, long at, CancellationToken cancellationToken = default) =>
        SettleLeasedAsync("state = 1, attempts = $3, finished_at = $4, last_error = NULL", eventId, owner, cancellationToken, P(attempts), P(at));

    public Task<bool> RescheduleAsync(string eventId, string owner, int attempts, long nextAttemptAt, string error, CancellationToken cancellationToken = default) =>
        SettleLeasedAsync("attempts = $3, next_attempt_at = $4, last_error = $5", eventId, owner, cancellationToken, P(attempts), P(nextAttemptAt), P(error));

    public Task<bool> DeadLetterAsync(string eventId, string owner, int attempts, long at, string error, CancellationToken cancellationToken = default) =>
        SettleLeasedAsync("state = 2, attempts = $3, finished_at = $4, last_error = $5", eventId, owner, cancellationToken, P(attempts), P(at), P(error));

    /// <summary>
    /// The lease fence: applies <paramref name="set"/> (its values from $3 on) to a pending event ($1) only while
    /// <paramref name="owner"/> ($2) holds its lease, and releases the lease in the same statement. False when the lease was lost.
    /// </summary>
    private async Task<bool> SettleLeasedAsync(string set, string eventId, string owner, CancellationToken cancellationToken, params NpgsqlParameter[] values) =>
        await _database.ExecuteAsync(
            $"UPDATE webhook_outbox SET {set}, leased_by = NULL, leased_until = 0 WHERE event_id = $1 AND state = 0 AND leased_by = $2;",
            cancellationToken,
            [P(eventId), P(owner), .. values]).ConfigureAwait(false) == 1;

    public Task<int> ReleaseAllLeasesAsync(CancellationToken cancellationToken = default) =>
        _database.ExecuteAsync("UPDATE webhook_outbox SET leased_by = NULL, leased_until = 0 WHERE state = 0 AND leased_by IS NOT NULL;", cancellationToken);

    public async Task<IReadOnlyList<WebhookEvent>> ListDeadLettersAsync(string? hook, int limit, CancellationToken cancellationToken = default) =>
        await _database.QueryAsync(
            $"SELECT {Columns} FROM webhook_outbox WHERE state = 2 AND ($1::text IS NULL OR hook = $1) ORDER BY finished_at DESC, event_id LIMIT $2;",
            Read, cancellationToken, Text(hook), P(limit)).ConfigureAwait(false);

    public async Task<WebhookEvent?> GetAsync(string eventId, CancellationToken cancellationToken = default)
    {
        var rows = await _database.QueryAsync($"SELECT {Columns} FROM webhook_outbox WHERE event_id = $1;", Read, cancellationToken, P(eventId)).ConfigureAwait(false);
        return rows.Count == 0 ? null : rows[0];
    }

    public Task<int> ReplayAsync(IReadOnlyCollection<string>? eventIds, string? hook, long now, CancellationToken cancellationToken = default) =>
        _database.ExecuteAsync(
            """
            UPDATE webhook_outbox SET state = 0, attempts = 0, next_attempt_at = $1, finished_at = NULL, leased_by = NULL, leased_until = 0
            WHERE state = 2 AND ($2::text IS NULL OR hook = $2) AND ($3::text[] IS NULL OR event_id = ANY($3));
            """,
            cancellationToken,
            P(now),
            Text(hook),
            new NpgsqlParameter { NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Array | NpgsqlTypes.NpgsqlDbType.Text, Value = (object?)eventIds?.Distinct(StringComparer.Ordinal).ToArray() ?? DBNull.Value });

    public async Task<WebhookOutboxCounts> CountAsync(CancellationToken cancellationToken = default)
    {
        var rows = await _database.QueryAsync(
            "SELECT count(*) FILTER (WHERE state = 0), count(*) FILTER (WHERE state = 2) FROM webhook_outbox;",
            r => new WebhookOutboxCounts(r.GetInt64(0), r.GetInt64(1)),
            cancellationToken).ConfigureAwait(false);
        return rows[0];
    }

    public Task<int> PurgeDeliveredAsync(long before, CancellationToken cancellationToken = default) =>
        _database.ExecuteAsync("DELETE FROM webhook_outbox WHERE state = 1 AND finished_at < $1;", cancellationToken, P(before));

    public async Task<int> PurgeUserAsync(string userId, CancellationToken cancellationToken = default)
    {
        var candidates = await _database.QueryAsync($"SELECT {Columns} FROM webhook_outbox WHERE strpos(payload, $1) > 0;", Read, cancellationToken, P(WebhookPayloads.Needle(userId))).ConfigureAwait(false);
        var ids = candidates.Where(e => WebhookPayloads.NamesUser(e.Payload, userId)).Select(e => e.EventId).ToArray();
        return ids.Length == 0 ? 0 : await _database.ExecuteAsync("DELETE FROM webhook_outbox WHERE event_id = ANY($1);", cancellationToken, P(ids)).ConfigureAwait(false);
    }

    private static WebhookEvent Read(NpgsqlDataReader r) =>
        new(r.GetString(0), r.GetString(1), r.GetString(2), r.GetInt64(3), r.GetInt64(4), r.GetInt32(5), (WebhookEventState)r.GetInt32(6),
            r.IsDBNull(7) ? null : r.GetString(7), r.IsDBNull(8) ? null : r.GetInt64(8));
}
