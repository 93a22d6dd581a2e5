using Microsoft.Data.Sqlite;
using Parley.Abstractions.Push;
using Parley.Storage.Sqlite.Internal;

namespace Parley.Storage.Sqlite.Push;

/// <summary>
/// <see cref="IPushJournal"/>: a view over the file's <see cref="SqliteDatabase"/> (WAL, synchronous=FULL in durable mode): every state change is committed before
/// the call returns, which is what lets a kill -9 lose no accepted push.
/// </summary>
public sealed class SqlitePushJournal : IPushJournal
{
    private const string Columns = "push_id, message_id, trace_id, user_id, device_id, vendor, category, state, payload, created_at, not_before, attempts, reason, digest_push_id, sent_at, arrived_at, clicked_at, owner";

    private readonly SqliteDatabase _database;

    public SqlitePushJournal(SqliteDatabase database)
    {
        ArgumentNullException.ThrowIfNull(database);
        _database = database;
    }

    /// <summary>Initialises the owner (idempotent: the server has usually done it already at start-up).</summary>
    public Task InitializeAsync(CancellationToken cancellationToken = default) => _database.InitializeAsync(cancellationToken);

    public async Task<IReadOnlyList<PushRecord>> AppendAsync(IReadOnlyList<PushRecord> records, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(records);
        if (records.Count == 0)
        {
            return [];
        }

        // One prepared statement stepped per row (issue 17): a SqliteCommand execution allocated a parameter binder, a
        // reader and UTF-8 copies per row, about 1 KB per device-push of a submit.
        return await _database.WriteAsync<IReadOnlyList<PushRecord>>(
            connection =>
            {
                var statement = _database.Prepared(connection, AppendSql, AppendParameters);
                var inserted = new List<PushRecord>(records.Count);
                foreach (var r in records)
                {
                    statement.Bind(0, r.PushId);
                    statement.Bind(1, r.MessageId);
                    statement.Bind(2, r.TraceId);
                    statement.Bind(3, r.UserId);
                    statement.Bind(4, r.DeviceId);
                    statement.Bind(5, (int)r.Vendor);
                    statement.Bind(6, (int)r.Category);
                    statement.Bind(7, (int)r.State);
                    statement.Bind(8, r.Payload);
                    statement.Bind(9, r.CreatedAt);
                    statement.Bind(10, r.NotBefore);
                    statement.Bind(11, r.Attempts);
                    statement.Bind(12, r.Reason);
                    statement.Bind(13, r.DigestPushId);
                    statement.Bind(14, r.Owner);
                    statement.Execute();
                    if (SQLitePCL.raw.sqlite3_changes(connection.Handle) == 1)
                    {
                        inserted.Add(r);
                    }
                }

                return inserted;
            },
            cancellationToken).ConfigureAwait(false);
    }

    private const string AppendSql = $"""
        INSERT INTO push_journal ({Columns})
        VALUES ($id, $msg, $trace, $user, $device, $vendor, $category, $state, $payload, $created, $nb, $attempts, $reason, $digest, NULL, NULL, NULL, $owner)
        ON CONFLICT (push_id) DO NOTHING;
        """;

    private static readonly string[] AppendParameters = ["$id", "$msg", "$trace", "$user", "$device", "$vendor", "$category", "$state", "$payload", "$created", "$nb", "$attempts", "$reason", "$digest", "$owner"];

    public async Task<bool> UpdatePendingAsync(string pushId, string payload, long notBefore, CancellationToken cancellationToken = default) =>
        await ExecuteAsync(
            "UPDATE push_journal SET payload = $payload, not_before = $nb WHERE push_id = $id AND state = 0;",
            p =>
            {
                p.AddWithValue("$id", pushId);
                p.AddWithValue("$payload", payload);
                p.AddWithValue("$nb", notBefore);
            },
            cancellationToken).ConfigureAwait(false) == 1;

    public Task UpdateStateAsync(string pushId, PushState state, int attempts, long notBefore, string? reason, long? sentAt, CancellationToken cancellationToken = default) =>
        ExecuteAsync(
            "UPDATE push_journal SET state = $state, attempts = $attempts, not_before = $nb, reason = $reason, sent_at = COALESCE($sent, sent_at) WHERE push_id = $id;",
            p =>
            {
                p.AddWithValue("$id", pushId);
                p.AddWithValue("$state", (int)state);
                p.AddWithValue("$attempts", attempts);
                p.AddWithValue("$nb", notBefore);
                p.AddWithValue("$reason", (object?)reason ?? DBNull.Value);
                p.AddWithValue("$sent", (object?)sentAt ?? DBNull.Value);
            },
            cancellationToken);

    public async Task<PushRecord?> GetAsync(string pushId, CancellationToken cancellationToken = default)
    {
        var rows = await QueryAsync($"SELECT {Columns} FROM push_journal WHERE push_id = $id;", p => p.AddWithValue("$id", pushId), cancellationToken).ConfigureAwait(false);
        return rows.Count == 0 ? null : rows[0];
    }

    private const string GetSql = $"SELECT {Columns} FROM push_journal WHERE push_id = $id;";
    private const string ClaimSql = "UPDATE push_journal SET state = 1, attempts = $attempts WHERE push_id = $id AND state = 0 AND owner = $owner;";
    private const string UpdateStateSql = "UPDATE push_journal SET state = $state, attempts = $attempts, not_before = $nb, reason = $reason, sent_at = COALESCE($sent, sent_at) WHERE push_id = $id;";
    private static readonly string[] IdParameter = ["$id"];
    private static readonly string[] ClaimParameters = ["$id", "$owner", "$attempts"];
    private static readonly string[] UpdateStateParameters = ["$id", "$state", "$attempts", "$nb", "$reason", "$sent"];

    /// <inheritdoc />
    /// <remarks>One pooled read connection and one prepared statement stepped per id (parsed once per connection).</remarks>
    public Task<IReadOnlyList<PushRecord>> GetManyAsync(IReadOnlyList<string> pushIds, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(pushIds);
        return ReadEachAsync(pushIds, static id => id, static (statement, _) => Read(statement), cancellationToken);
    }

    /// <inheritdoc />
    /// <remarks>
    /// GetManyAsync's statement, each column compared with the copy's value in SQLite's own UTF-8 bytes: an unchanged row
    /// is the copy itself, a changed one reuses the copy's unchanged strings. The dispatch's re-read of a batch allocated
    /// every column again (the payload the largest), about 1 KB per device-push at stop 41.
    /// </remarks>
    public Task<IReadOnlyList<PushRecord>> ReadCurrentAsync(IReadOnlyList<PushRecord> copies, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(copies);
        return ReadEachAsync(copies, static copy => copy.PushId, ReadAgainst, cancellationToken);
    }

    // One pooled read connection, GetSql prepared once per connection and stepped per key; keys without a row left out.
    private async Task<IReadOnlyList<PushRecord>> ReadEachAsync<TKey>(
        IReadOnlyList<TKey> keys, Func<TKey, string> pushId, Func<RawStatement, TKey, PushRecord> read, CancellationToken cancellationToken)
    {
        var rows = new List<PushRecord>(keys.Count);
        if (keys.Count == 0)
        {
            return rows;
        }

        var connection = await _database.OpenReaderAsync(cancellationToken).ConfigureAwait(false);
        await using (connection.ConfigureAwait(false))
        {
            var statement = _database.Prepared(connection, GetSql, IdParameter);
            foreach (var key in keys)
            {
                try
                {
                    statement.Bind(0, pushId(key));
                    if (statement.Read())
                    {
                        rows.Add(read(statement, key));
                    }
                }
                finally
                {
                    statement.Reset();
                }
            }
        }

        return rows;
    }

    // The row as Read gives it, with the copy's strings where they are equal, and the copy itself when every column is.
    private static PushRecord ReadAgainst(RawStatement r, PushRecord copy)
    {
        var messageId = Text(r, 1, copy.MessageId);
        var traceId = Text(r, 2, copy.TraceId);
        var userId = Text(r, 3, copy.UserId);
        var deviceId = Text(r, 4, copy.DeviceId);
        var vendor = (PushVendor)r.GetInt32(5);
        var category = (PushCategory)r.GetInt32(6);
        var state = (PushState)r.GetInt32(7);
        var payload = Text(r, 8, copy.Payload);
        var createdAt = r.GetInt64(9);
        var notBefore = r.GetInt64(10);
        var attempts = r.GetInt32(11);
        var reason = r.IsDBNull(12) ? null : Text(r, 12, copy.Reason);
        var digest = r.IsDBNull(13) ? null : Text(r, 13, copy.DigestPushId);
        long? sentAt = r.IsDBNull(14) ? null : r.GetInt64(14);
        long? arrivedAt = r.IsDBNull(15) ? null : r.GetInt64(15);
        long? clickedAt = r.IsDBNull(16) ? null : r.GetInt64(16);
        var owner = Text(r, 17, copy.Owner);
        if (ReferenceEquals(messageId, copy.MessageId) && ReferenceEquals(traceId, copy.TraceId) && ReferenceEquals(userId, copy.UserId)
            && ReferenceEquals(deviceId, copy.DeviceId) && vendor == copy.Vendor && category == copy.Category && state == copy.State
            && ReferenceEquals(payload, copy.Payload) && createdAt == copy.CreatedAt && notBefore == copy.NotBefore && attempts == copy.Attempts
            && ReferenceEquals(reason, copy.Reason) && ReferenceEquals(digest, copy.DigestPushId) && sentAt == copy.SentAt
            && arrivedAt == copy.ArrivedAt && clickedAt == copy.ClickedAt && ReferenceEquals(owner, copy.Owner))
        {
            return copy;
        }

        var pushId = Text(r, 0, copy.PushId);
        return new PushRecord(pushId, messageId, traceId, userId, deviceId, vendor, category, state, payload, createdAt, notBefore, attempts, reason, digest, sentAt, arrivedAt, clickedAt)
        {
            Owner = owner,
        };
    }

    // The column's text: the known string when SQLite holds the same UTF-8 bytes (nothing allocated), else a new string.
    private static string Text(RawStatement r, int column, string? known) =>
        known is not null && Utf8TextEquals(r.GetUtf8(column), known) ? known : r.GetString(column);

    internal static bool Utf8TextEquals(ReadOnlySpan<byte> utf8, string text)
    {
        if (System.Text.Ascii.Equals(utf8, text))
        {
            return true;
        }

        if (utf8.Length < text.Length || System.Text.Ascii.IsValid(utf8))
        {
            return false; // fewer bytes than characters, or ASCII bytes that differ from the text
        }

        // Non-ASCII: the text's UTF-8 bytes compared with SQLite's. A text that is not valid UTF-16 (a lone surrogate) is
        // never equal: SQLite holds its replacement characters, and reading the column gives those, not the text.
        var max = System.Text.Encoding.UTF8.GetMaxByteCount(text.Length);
        var rented = max > 1024 ? System.Buffers.ArrayPool<byte>.Shared.Rent(max) : null;
        try
        {
            Span<byte> buffer = rented ?? stackalloc byte[1024];
            return System.Text.Unicode.Utf8.FromUtf16(text, buffer, out _, out var n, replaceInvalidSequences: false) == System.Buffers.OperationStatus.Done
                && utf8.SequenceEqual(buffer[..n]);
        }
        finally
        {
            if (rented is not null)
            {
                System.Buffers.ArrayPool<byte>.Shared.Return(rented);
            }
        }
    }

    /// <inheritdoc />
    /// <remarks>One write of the writer queue (one transaction, one fsync) with one prepared statement stepped per claim.</remarks>
    public Task<IReadOnlyList<bool>> ClaimManyAsync(IReadOnlyList<PushClaim> claims, string owner, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(claims);
        if (claims.Count == 0)
        {
            return Task.FromResult<IReadOnlyList<bool>>([]);
        }

        return _database.WriteAsync<IReadOnlyList<bool>>(connection => Claim(connection, claims, owner), cancellationToken);
    }

    /// <inheritdoc />
    /// <remarks>One write of the writer queue: the changes, then the claims, in one transaction (one fsync).</remarks>
    public Task<IReadOnlyList<bool>> UpdateStatesAndClaimManyAsync(IReadOnlyList<PushStateChange> changes, IReadOnlyList<PushClaim> claims, string owner, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(changes);
        ArgumentNullException.ThrowIfNull(claims);
        if (changes.Count == 0 && claims.Count == 0)
        {
            return Task.FromResult<IReadOnlyList<bool>>([]);
        }

        return _database.WriteAsync<IReadOnlyList<bool>>(
            connection =>
            {
                Update(connection, changes);
                return Claim(connection, claims, owner);
            },
            cancellationToken);
    }

    private bool[] Claim(SqliteConnection connection, IReadOnlyList<PushClaim> claims, string owner)
    {
        var claimed = new bool[claims.Count];
        if (claims.Count == 0)
        {
            return claimed;
        }

        var statement = _database.Prepared(connection, ClaimSql, ClaimParameters);
        for (var i = 0; i < claims.Count; i++)
        {
            statement.Bind(0, claims[i].PushId);
            statement.Bind(1, owner);
            statement.Bind(2, claims[i].Attempts);
            statement.Execute();
            claimed[i] = SQLitePCL.raw.sqlite3_changes(connection.Handle) == 1;
        }

        return claimed;
    }

    /// <inheritdoc />
    /// <remarks>One write of the writer queue (one transaction, one fsync) with one prepared statement stepped per change.</remarks>
    public Task UpdateStatesAsync(IReadOnlyList<PushStateChange> changes, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(changes);
        if (changes.Count == 0)
        {
            return Task.CompletedTask;
        }

        return _database.WriteAsync(
            connection =>
            {
                Update(connection, changes);
                return true;
            },
            cancellationToken);
    }

    private void Update(SqliteConnection connection, IReadOnlyList<PushStateChange> changes)
    {
        if (changes.Count == 0)
        {
            return;
        }

        var statement = _database.Prepared(connection, UpdateStateSql, UpdateStateParameters);
        foreach (var c in changes)
        {
            statement.Bind(0, c.PushId);
            statement.Bind(1, (int)c.State);
            statement.Bind(2, c.Attempts);
            statement.Bind(3, c.NotBefore);
            statement.Bind(4, c.Reason);
            if (c.SentAt is { } sent)
            {
                statement.Bind(5, sent);
            }
            else
            {
                statement.Bind(5, (string?)null);
            }

            statement.Execute();
        }
    }

    public Task<IReadOnlyList<PushRecord>> ListByStateAsync(PushState state, int limit, CancellationToken cancellationToken = default) =>
        QueryAsync(
            $"SELECT {Columns} FROM push_journal WHERE state = $state ORDER BY created_at, push_id LIMIT $limit;",
            p =>
            {
                p.AddWithValue("$state", (int)state);
                p.AddWithValue("$limit", limit);
            },
            cancellationToken);

    public Task<IReadOnlyList<PushRecord>> ListByMessageAsync(string messageId, CancellationToken cancellationToken = default) =>
        QueryAsync(
            $"""
            SELECT {Columns} FROM push_journal WHERE message_id = $msg
            UNION
            SELECT {Columns} FROM push_journal WHERE push_id IN (SELECT digest_push_id FROM push_journal WHERE message_id = $msg AND digest_push_id IS NOT NULL)
            ORDER BY created_at, push_id;
            """,
            p => p.AddWithValue("$msg", messageId),
            cancellationToken);

    public Task<int> FilterPendingAsync(string messageId, string reason, CancellationToken cancellationToken = default) =>
        ExecuteAsync(
            "UPDATE push_journal SET state = 3, reason = $reason WHERE message_id = $msg AND state = 0;",
            p =>
            {
                p.AddWithValue("$msg", messageId);
                p.AddWithValue("$reason", reason);
            },
            cancellationToken);

    public Task<IReadOnlyList<PushJournalCount>> CountByMessageAsync(string messageId, CancellationToken cancellationToken = default) =>
        _database.QueryAsync(
            """
            SELECT state, reason, json_extract(payload, '$.templateId'), COUNT(*), COUNT(arrived_at), COUNT(clicked_at)
            FROM push_journal WHERE message_id = $msg GROUP BY 1, 2, 3;
            """,
            c => c.Parameters.AddWithValue("$msg", messageId),
            r => new PushJournalCount((PushState)r.GetInt32(0), r.IsDBNull(1) ? null : r.GetString(1), r.IsDBNull(2) ? null : r.GetString(2), r.GetInt64(3), r.GetInt64(4), r.GetInt64(5)),
            cancellationToken);

    public Task<PushRecord?> MarkArrivedAsync(string pushId, long at, CancellationToken cancellationToken = default) =>
        MarkAsync("arrived_at", pushId, at, cancellationToken);

    public Task<PushRecord?> MarkClickedAsync(string pushId, long at, CancellationToken cancellationToken = default) =>
        MarkAsync("clicked_at", pushId, at, cancellationToken);

    public Task<int> PurgeFinishedAsync(long before, CancellationToken cancellationToken = default) =>
        ExecuteAsync(
            "DELETE FROM push_journal WHERE state NOT IN (0, 1, 5) AND created_at < $before;",
            p => p.AddWithValue("$before", before),
            cancellationToken);

    private async Task<PushRecord?> MarkAsync(string column, string pushId, long at, CancellationToken cancellationToken)
    {
        await ExecuteAsync(
            $"UPDATE push_journal SET {column} = $at WHERE push_id = $id AND {column} IS NULL;",
            p =>
            {
                p.AddWithValue("$id", pushId);
                p.AddWithValue("$at", at);
            },
            cancellationToken).ConfigureAwait(false);
        return await GetAsync(pushId, cancellationToken).ConfigureAwait(false);
    }

    private static PushRecord Read(SqliteDataReader r) => Read(new DataReaderRow(r));

    private static PushRecord Read<TRow>(TRow r)
        where TRow : ISqliteRow =>
        new(
            r.GetString(0), r.GetString(1), r.GetString(2), r.GetString(3), r.GetString(4), (PushVendor)r.GetInt32(5), (PushCategory)r.GetInt32(6),
            (PushState)r.GetInt32(7), r.GetString(8), r.GetInt64(9), r.GetInt64(10), r.GetInt32(11), r.IsDBNull(12) ? null : r.GetString(12),
            r.IsDBNull(13) ? null : r.GetString(13), r.IsDBNull(14) ? null : r.GetInt64(14), r.IsDBNull(15) ? null : r.GetInt64(15), r.IsDBNull(16) ? null : r.GetInt64(16))
        {
            Owner = r.GetString(17),
        };

    /// <inheritdoc />
    public async Task<bool> ClaimAsync(string pushId, string owner, int attempts, CancellationToken cancellationToken = default) =>
        await ExecuteAsync(
            "UPDATE push_journal SET state = 1, attempts = $attempts WHERE push_id = $id AND state = 0 AND owner = $owner;",
            p =>
            {
                p.AddWithValue("$id", pushId);
                p.AddWithValue("$owner", owner);
                p.AddWithValue("$attempts", attempts);
            },
            cancellationToken).ConfigureAwait(false) == 1;

    /// <inheritdoc />
    public Task RenewLeaseAsync(string owner, long expiresAt, CancellationToken cancellationToken = default) =>
        ExecuteAsync(
            "INSERT INTO push_leases (owner, expires_at) VALUES ($owner, $at) ON CONFLICT (owner) DO UPDATE SET expires_at = MAX(expires_at, excluded.expires_at);",
            p =>
            {
                p.AddWithValue("$owner", owner);
                p.AddWithValue("$at", expiresAt);
            },
            cancellationToken);

    /// <inheritdoc />
    public Task ReleaseLeaseAsync(string owner, CancellationToken cancellationToken = default) =>
        ExecuteAsync("DELETE FROM push_leases WHERE owner = $owner;", p => p.AddWithValue("$owner", owner), cancellationToken);

    /// <inheritdoc />
    public Task<IReadOnlyList<PushRecord>> AdoptAsync(string owner, string? previousPrefix, long now, int limit, CancellationToken cancellationToken = default) =>
        // One writer: the statement is atomic, so each row has one adopter.
        _database.WriteAsync<IReadOnlyList<PushRecord>>(
            connection =>
            {
                using (var expired = connection.CreateCommand())
                {
                    expired.CommandText = "DELETE FROM push_leases WHERE expires_at <= $now;";
                    expired.Parameters.AddWithValue("$now", now);
                    expired.ExecuteNonQuery();
                }

                using var command = connection.CreateCommand();
                command.CommandText = $"""
                    UPDATE push_journal SET owner = $owner
                    WHERE push_id IN (
                        SELECT push_id FROM push_journal p
                        WHERE p.state IN (0, 1) AND p.owner <> $owner
                          AND ((p.owner LIKE $prefix ESCAPE '!') OR NOT EXISTS (SELECT 1 FROM push_leases l WHERE l.owner = p.owner AND l.expires_at > $now))
                        ORDER BY p.created_at
                        LIMIT $limit)
                    RETURNING {Columns};
                    """;
                command.Parameters.AddWithValue("$owner", owner);
                command.Parameters.AddWithValue("$prefix", PushOwnerPrefix.LikePattern(previousPrefix));
                command.Parameters.AddWithValue("$now", now);
                command.Parameters.AddWithValue("$limit", limit);
                return SqliteRows.ReadAll(command, Read);
            },
            cancellationToken);

    /// <inheritdoc />
    public async Task<bool> ReplayAsync(string pushId, string owner, long notBefore, CancellationToken cancellationToken = default) =>
        await ExecuteAsync(
            "UPDATE push_journal SET state = 0, attempts = 0, not_before = $nb, reason = 'replay', owner = $owner WHERE push_id = $id AND state = 5;",
            p =>
            {
                p.AddWithValue("$id", pushId);
                p.AddWithValue("$owner", owner);
                p.AddWithValue("$nb", notBefore);
            },
            cancellationToken).ConfigureAwait(false) == 1;

    private Task<IReadOnlyList<PushRecord>> QueryAsync(string sql, Action<SqliteParameterCollection> bind, CancellationToken cancellationToken) =>
        _database.QueryAsync(sql, command => bind(command.Parameters), Read, cancellationToken);

    /// <summary>A single-statement write, durable when it returns (<see cref="SqliteDatabase.ExecuteAsync"/>).</summary>
    private Task<int> ExecuteAsync(string sql, Action<SqliteParameterCollection> bind, CancellationToken cancellationToken) =>
        _database.ExecuteAsync(sql, bind, cancellationToken);
}
