using Microsoft.Data.Sqlite;
using Parley.Abstractions.Webhooks;
using Parley.Storage.Sqlite.Internal;

namespace Parley.Storage.Sqlite.Webhooks;

/// <summary>
/// <see cref="IWebhookOutbox"/> on the file's <see cref="SqliteDatabase"/>: every change goes through the one writer
/// queue and is durable when the call returns. One process owns an SQLite file, so a lease is only ever contested by
/// this process's own dispatcher; the conditions are the same as PostgreSQL's all the same.
/// </summary>
public sealed class SqliteWebhookOutbox : IWebhookOutbox
{
    private const string Columns = "event_id, hook, payload, created_at, next_attempt_at, attempts, state, last_error, finished_at";

    private readonly SqliteDatabase _database;

    public SqliteWebhookOutbox(SqliteDatabase database)
    {
        ArgumentNullException.ThrowIfNull(database);
        _database = database;
    }

    /// <summary>Inserts events on the writer's connection, inside its current transaction (the message commit's too).</summary>
    internal static void Insert(SqliteConnection connection, IReadOnlyList<WebhookEvent> events)
    {
        using var command = connection.CreateCommand();
        command.CommandText = """
            INSERT INTO webhook_outbox (event_id, hook, payload, created_at, next_attempt_at, attempts, state, last_error, leased_by, leased_until, finished_at)
            VALUES ($id, $hook, $payload, $created, $next, $attempts, $state, $error, NULL, 0, $finished)
            ON CONFLICT (event_id) DO NOTHING;
            """;
        var p = command.Parameters;
        var id = p.Add("$id", SqliteType.Text);
        var hook = p.Add("$hook", SqliteType.Text);
        var payload = p.Add("$payload", SqliteType.Text);
        var created = p.Add("$created", SqliteType.Integer);
        var next = p.Add("$next", SqliteType.Integer);
        var attempts = p.Add("$attempts", SqliteType.Integer);
        var state = p.Add("$state", SqliteType.Integer);
        var error = p.Add("$error", SqliteType.Text);
        var finished = p.Add("$finished", SqliteType.Integer);
        foreach (var e in events)
        {
            id.Value = e.EventId;
            hook.Value = e.Hook;
            payload.Value = e.Payload;
            created.Value = e.CreatedAt;
            next.Value = e.NextAttemptAt;
            attempts.Value = e.Attempts;
            state.Value = (int)e.State;
            error.Value = (object?)e.LastError ?? DBNull.Value;
            finished.Value = (object?)e.FinishedAt ?? DBNull.Value;
            command.ExecuteNonQuery();
        }
    }

    public Task EnqueueAsync(IReadOnlyList<WebhookEvent> events, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(events);
        return events.Count == 0
            ? Task.CompletedTask
            : _database.WriteAsync(connection =>
            {
                Insert(connection, events);
                return true;
            }, cancellationToken);
    }

    public async Task<IReadOnlyList<WebhookEvent>> ClaimAsync(string owner, long now, long leaseUntil, int limit, CancellationToken cancellationToken = default) =>
        await _database.WriteAsync(
            connection =>
            {
                using var command = connection.CreateCommand();
                command.CommandText = $"""
                    UPDATE webhook_outbox SET leased_by = $owner, leased_until = $until
                    WHERE event_id IN (
                        SELECT event_id FROM webhook_outbox
                        WHERE state = 0 AND next_attempt_at <= $now AND leased_until <= $now
                        ORDER BY next_attempt_at, event_id LIMIT $limit)
                    RETURNING {Columns};
                    """;
                command.Parameters.AddWithValue("$owner", owner);
                command.Parameters.AddWithValue("$until", leaseUntil);
                command.Parameters.AddWithValue("$now", now);
                command.Parameters.AddWithValue("$limit", limit);
                return SqliteRows.ReadAll(command, Read);
            },
            cancellationToken).ConfigureAwait(false);

    public Task<bool> MarkDeliveredAsync(string eventId, string owner, int attempts, long at, CancellationToken cancellationToken = default) =>
        SettleLeasedAsync(
            "state = 1, attempts = $attempts, finished_at = $at, last_error = NULL",
            eventId,
            owner,
            p =>
            {
                p.AddWithValue("$attempts", attempts);
                p.AddWithValue("$at", at);
            },
            cancellationToken);

    public Task<bool> RescheduleAsync(string eventId, string owner, int attempts, long nextAttemptAt, string error, CancellationToken cancellationToken = default) =>
        SettleLeasedAsync(
            "attempts = $attempts, next_attempt_at = $next, last_error = $error",
            eventId,
            owner,
            p =>
            {
                p.AddWithValue("$attempts", attempts);
                p.AddWithValue("$next", nextAttemptAt);
                p.AddWithValue("$error", error);
            },
            cancellationToken);

    public Task<bool> DeadLetterAsync(string eventId, string owner, int attempts, long at, string error, CancellationToken cancellationToken = default) =>
        SettleLeasedAsync(
            "state = 2, attempts = $attempts, finished_at = $at, last_error = $error",
            eventId,
            owner,
            p =>
            {
                p.AddWithValue("$attempts", attempts);
                p.AddWithValue("$at", at);
                p.AddWithValue("$error", error);
            },
            cancellationToken);

    /// <summary>
    /// The lease fence: applies <paramref name="set"/> to a pending event ($id) only while <paramref name="owner"/>
    /// ($owner) holds its lease, and releases the lease in the same statement. False when the lease was lost.
    /// </summary>
    private async Task<bool> SettleLeasedAsync(string set, string eventId, string owner, Action<SqliteParameterCollection> bind, CancellationToken cancellationToken) =>
        await ExecuteAsync(
            $"UPDATE webhook_outbox SET {set}, leased_by = NULL, leased_until = 0 WHERE event_id = $id AND state = 0 AND leased_by = $owner;",
            p =>
            {
                p.AddWithValue("$id", eventId);
                p.AddWithValue("$owner", owner);
                bind(p);
            },
            cancellationToken).ConfigureAwait(false) == 1;

    public Task<int> ReleaseAllLeasesAsync(CancellationToken cancellationToken = default) =>
        ExecuteAsync("UPDATE webhook_outbox SET leased_by = NULL, leased_until = 0 WHERE state = 0 AND leased_by IS NOT NULL;", _ => { }, cancellationToken);

    public Task<IReadOnlyList<WebhookEvent>> ListDeadLettersAsync(string? hook, int limit, CancellationToken cancellationToken = default) =>
        QueryAsync(
            $"SELECT {Columns} FROM webhook_outbox WHERE state = 2 AND ($hook IS NULL OR hook = $hook) ORDER BY finished_at DESC, event_id LIMIT $limit;",
            p =>
            {
                p.AddWithValue("$hook", (object?)hook ?? DBNull.Value);
                p.AddWithValue("$limit", limit);
            },
            cancellationToken);

    public async Task<WebhookEvent?> GetAsync(string eventId, CancellationToken cancellationToken = default)
    {
        var rows = await QueryAsync($"SELECT {Columns} FROM webhook_outbox WHERE event_id = $id;", p => p.AddWithValue("$id", eventId), cancellationToken).ConfigureAwait(false);
        return rows.Count == 0 ? null : rows[0];
    }

    public Task<int> ReplayAsync(IReadOnlyCollection<string>? eventIds, string? hook, long now, CancellationToken cancellationToken = default) =>
        _database.WriteAsync(
            connection =>
            {
                using var command = connection.CreateCommand();
                const string Set = "UPDATE webhook_outbox SET state = 0, attempts = 0, next_attempt_at = $now, finished_at = NULL, leased_by = NULL, leased_until = 0 WHERE state = 2";
                command.Parameters.AddWithValue("$now", now);
                command.Parameters.AddWithValue("$hook", (object?)hook ?? DBNull.Value);
                if (eventIds is null)
                {
                    command.CommandText = Set + " AND ($hook IS NULL OR hook = $hook);";
                    return command.ExecuteNonQuery();
                }

                command.CommandText = Set + " AND event_id = $id AND ($hook IS NULL OR hook = $hook);";
                var id = command.Parameters.Add("$id", SqliteType.Text);
                var count = 0;
                foreach (var eventId in eventIds.Distinct(StringComparer.Ordinal))
                {
                    id.Value = eventId;
                    count += command.ExecuteNonQuery();
                }

                return count;
            },
            cancellationToken);

    public async Task<WebhookOutboxCounts> CountAsync(CancellationToken cancellationToken = default)
    {
        var connection = await _database.OpenReaderAsync(cancellationToken).ConfigureAwait(false);
        await using (connection.ConfigureAwait(false))
        {
            using var command = connection.CreateCommand();
            command.CommandText = "SELECT (SELECT COUNT(*) FROM webhook_outbox WHERE state = 0), (SELECT COUNT(*) FROM webhook_outbox WHERE state = 2);";
            using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            await reader.ReadAsync(cancellationToken).ConfigureAwait(false);
            return new WebhookOutboxCounts(reader.GetInt64(0), reader.GetInt64(1));
        }
    }

    public Task<int> PurgeDeliveredAsync(long before, CancellationToken cancellationToken = default) =>
        ExecuteAsync("DELETE FROM webhook_outbox WHERE state = 1 AND finished_at < $before;", p => p.AddWithValue("$before", before), cancellationToken);

    public async Task<int> PurgeUserAsync(string userId, CancellationToken cancellationToken = default)
    {
        var candidates = await QueryAsync($"SELECT {Columns} FROM webhook_outbox WHERE instr(payload, $needle) > 0;", p => p.AddWithValue("$needle", WebhookPayloads.Needle(userId)), cancellationToken).ConfigureAwait(false);
        var ids = candidates.Where(e => WebhookPayloads.NamesUser(e.Payload, userId)).Select(e => e.EventId).ToArray();
        var deleted = 0;
        foreach (var id in ids)
        {
            deleted += await ExecuteAsync("DELETE FROM webhook_outbox WHERE event_id = $id;", p => p.AddWithValue("$id", id), cancellationToken).ConfigureAwait(false);
        }

        return deleted;
    }

    private static WebhookEvent Read(SqliteDataReader r) =>
        new(r.GetString(0), r.GetString(1), r.GetString(2), r.GetInt64(3), r.GetInt64(4), r.GetInt32(5), (WebhookEventState)r.GetInt32(6),
            r.IsDBNull(7) ? null : r.GetString(7), r.IsDBNull(8) ? null : r.GetInt64(8));

    private Task<IReadOnlyList<WebhookEvent>> QueryAsync(string sql, Action<SqliteParameterCollection> bind, CancellationToken cancellationToken) =>
        _database.QueryAsync(sql, command => bind(command.Parameters), Read, cancellationToken);

    /// <summary>A single-statement write, durable when it returns (<see cref="SqliteDatabase.ExecuteAsync"/>).</summary>
    private Task<int> ExecuteAsync(string sql, Action<SqliteParameterCollection> bind, CancellationToken cancellationToken) =>
        _database.ExecuteAsync(sql, bind, cancellationToken);
}
