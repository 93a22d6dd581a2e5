using Npgsql;
using Parley.Abstractions.Push;
using static Parley.Storage.Postgres.Internal.PostgresRows;

namespace Parley.Storage.Postgres.Push;

/// <summary>
/// <see cref="IPushJournal"/> on PostgreSQL: every state change is committed (durably, with synchronous_commit on)
/// before the call returns, which is what lets a crash lose no accepted push. An append of N records is one multi-row
/// statement (one round trip) that skips push ids already journaled.
/// </summary>
public sealed class PostgresPushJournal : IPushJournal
{
    private const string Columns = "push_id, message_id, trace_id, user_id, device_id, vendor, category, state, payload, created_at, not_before, attempts, reason, digest_push_id, sent_at, arrived_at, clicked_at, owner";

    private readonly PostgresDatabase _database;

    public PostgresPushJournal(PostgresDatabase database)
    {
        ArgumentNullException.ThrowIfNull(database);
        _database = database;
    }

    /// <summary>Initialises the owner (idempotent: the server has usually done it already at start-up).</summary>
    public Task InitializeAsync(CancellationToken cancellationToken = default) => _database.InitializeAsync(cancellationToken);

    /// <inheritdoc />
    public async Task<IReadOnlyList<PushRecord>> AppendAsync(IReadOnlyList<PushRecord> records, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(records);
        if (records.Count == 0)
        {
            return [];
        }

        var inserted = await _database.QueryAsync(
            """
            INSERT INTO push_journal (push_id, message_id, trace_id, user_id, device_id, vendor, category, state, payload, created_at, not_before, attempts, reason, digest_push_id, owner)
            SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::integer[], $7::integer[], $8::integer[], $9::text[],
                                 $10::bigint[], $11::bigint[], $12::integer[], $13::text[], $14::text[], $15::text[])
            ON CONFLICT (push_id) DO NOTHING
            RETURNING push_id;
            """,
            r => r.GetString(0),
            cancellationToken,
            P(records.Select(r => r.PushId).ToArray()),
            P(records.Select(r => r.MessageId).ToArray()),
            P(records.Select(r => r.TraceId).ToArray()),
            P(records.Select(r => r.UserId).ToArray()),
            P(records.Select(r => r.DeviceId).ToArray()),
            P(records.Select(r => (int)r.Vendor).ToArray()),
            P(records.Select(r => (int)r.Category).ToArray()),
            P(records.Select(r => (int)r.State).ToArray()),
            P(records.Select(r => r.Payload).ToArray()),
            P(records.Select(r => r.CreatedAt).ToArray()),
            P(records.Select(r => r.NotBefore).ToArray()),
            P(records.Select(r => r.Attempts).ToArray()),
            P(records.Select(r => r.Reason).ToArray()),
            P(records.Select(r => r.DigestPushId).ToArray()),
            P(records.Select(r => r.Owner).ToArray())).ConfigureAwait(false);

        // In input order, each push id once (the first record wins, like one insert after another).
        var fresh = new HashSet<string>(inserted, StringComparer.Ordinal);
        return [.. records.Where(r => fresh.Remove(r.PushId))];
    }

    /// <inheritdoc />
    public async Task<bool> UpdatePendingAsync(string pushId, string payload, long notBefore, CancellationToken cancellationToken = default) =>
        await _database.ExecuteAsync(
            "UPDATE push_journal SET payload = $2, not_before = $3 WHERE push_id = $1 AND state = 0;", cancellationToken, P(pushId), P(payload), P(notBefore))
            .ConfigureAwait(false) == 1;

    /// <inheritdoc />
    public Task UpdateStateAsync(string pushId, PushState state, int attempts, long notBefore, string? reason, long? sentAt, CancellationToken cancellationToken = default) =>
        _database.ExecuteAsync(
            "UPDATE push_journal SET state = $2, attempts = $3, not_before = $4, reason = $5, sent_at = COALESCE($6, sent_at) WHERE push_id = $1;",
            cancellationToken,
            P(pushId),
            P((int)state),
            P(attempts),
            P(notBefore),
            Text(reason),
            Bigint(sentAt));

    /// <inheritdoc />
    public async Task<PushRecord?> GetAsync(string pushId, CancellationToken cancellationToken = default)
    {
        var rows = await _database.QueryAsync($"SELECT {Columns} FROM push_journal WHERE push_id = $1;", Read, cancellationToken, P(pushId)).ConfigureAwait(false);
        return rows.Count == 0 ? null : rows[0];
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<PushRecord>> ListByStateAsync(PushState state, int limit, CancellationToken cancellationToken = default) =>
        await _database.QueryAsync(
            $"SELECT {Columns} FROM push_journal WHERE state = $1 ORDER BY created_at, push_id LIMIT $2;", Read, cancellationToken, P((int)state), P((long)Math.Max(0, limit)))
            .ConfigureAwait(false);

    /// <inheritdoc />
    public Task<int> FilterPendingAsync(string messageId, string reason, CancellationToken cancellationToken = default) =>
        _database.ExecuteAsync("UPDATE push_journal SET state = 3, reason = $2 WHERE message_id = $1 AND state = 0;", cancellationToken, P(messageId), P(reason));

    public async Task<IReadOnlyList<PushJournalCount>> CountByMessageAsync(string messageId, CancellationToken cancellationToken = default) =>
        await _database.QueryAsync(
            """
            SELECT state, reason, payload::jsonb ->> 'templateId', COUNT(*), COUNT(arrived_at), COUNT(clicked_at)
            FROM push_journal WHERE message_id = $1 GROUP BY 1, 2, 3;
            """,
            r => new PushJournalCount((PushState)r.GetInt32(0), r.IsDBNull(1) ? null : r.GetString(1), r.IsDBNull(2) ? null : r.GetString(2), r.GetInt64(3), r.GetInt64(4), r.GetInt64(5)),
            cancellationToken,
            P(messageId)).ConfigureAwait(false);

    public async Task<IReadOnlyList<PushRecord>> ListByMessageAsync(string messageId, CancellationToken cancellationToken = default) =>
        await _database.QueryAsync(
            $"""
            SELECT {Columns} FROM push_journal WHERE message_id = $1
            UNION
            SELECT {Columns} FROM push_journal WHERE push_id IN (SELECT digest_push_id FROM push_journal WHERE message_id = $1 AND digest_push_id IS NOT NULL)
            ORDER BY created_at, push_id;
            """,
            Read,
            cancellationToken,
            P(messageId)).ConfigureAwait(false);

    /// <inheritdoc />
    public Task<PushRecord?> MarkArrivedAsync(string pushId, long at, CancellationToken cancellationToken = default) =>
        MarkAsync("arrived_at", pushId, at, cancellationToken);

    /// <inheritdoc />
    public Task<PushRecord?> MarkClickedAsync(string pushId, long at, CancellationToken cancellationToken = default) =>
        MarkAsync("clicked_at", pushId, at, cancellationToken);

    /// <inheritdoc />
    public Task<int> PurgeFinishedAsync(long before, CancellationToken cancellationToken = default) =>
        _database.ExecuteAsync("DELETE FROM push_journal WHERE state NOT IN (0, 1, 5) AND created_at < $1;", cancellationToken, P(before));

    // Only the first report counts; the row as it is afterwards is returned (null for an unknown push id).
    private async Task<PushRecord?> MarkAsync(string column, string pushId, long at, CancellationToken cancellationToken)
    {
        await _database.ExecuteAsync($"UPDATE push_journal SET {column} = $2 WHERE push_id = $1 AND {column} IS NULL;", cancellationToken, P(pushId), P(at))
            .ConfigureAwait(false);
        return await GetAsync(pushId, cancellationToken).ConfigureAwait(false);
    }

    private static PushRecord Read(NpgsqlDataReader r) =>
        new(
            r.GetString(0), r.GetString(1), r.GetString(2), r.GetString(3), r.GetString(4), (PushVendor)r.GetInt32(5), (PushCategory)r.GetInt32(6),
            (PushState)r.GetInt32(7), r.GetString(8), r.GetInt64(9), r.GetInt64(10), r.GetInt32(11), r.IsDBNull(12) ? null : r.GetString(12),
            r.IsDBNull(13) ? null : r.GetString(13), r.IsDBNull(14) ? null : r.GetInt64(14), r.IsDBNull(15) ? null : r.GetInt64(15), r.IsDBNull(16) ? null : r.GetInt64(16))
        {
            Owner = r.GetString(17),
        };

    /// <inheritdoc />
    public async Task<bool> ClaimAsync(string pushId, string owner, int attempts, CancellationToken cancellationToken = default) =>
        await _database.ExecuteAsync(
            "UPDATE push_journal SET state = 1, attempts = $3 WHERE push_id = $1 AND state = 0 AND owner = $2;", cancellationToken, P(pushId), P(owner), P(attempts))
            .ConfigureAwait(false) == 1;

    /// <inheritdoc />
    /// <remarks>One statement (<c>push_id = ANY($1)</c>, the primary key) for the whole batch.</remarks>
    public async Task<IReadOnlyList<PushRecord>> GetManyAsync(IReadOnlyList<string> pushIds, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(pushIds);
        if (pushIds.Count == 0)
        {
            return [];
        }

        return await _database.QueryAsync($"SELECT {Columns} FROM push_journal WHERE push_id = ANY($1);", Read, cancellationToken, P(pushIds.ToArray()))
            .ConfigureAwait(false);
    }

    /// <inheritdoc />
    /// <remarks>
    /// One statement, so one transaction and one commit, with <see cref="ClaimAsync"/>'s fence per row: only rows that
    /// are Pending and owned by <paramref name="owner"/> once their lock is held. The rows are locked in push id order
    /// (ORDER BY before FOR UPDATE), so two batches over the same rows wait for each other instead of deadlocking; a row
    /// whose owner changed meanwhile (adopted) or that another claimer moved on is re-checked after the wait and skipped.
    /// A push id asked twice is claimed for its first occurrence only, as one claim after another would.
    /// </remarks>
    public async Task<IReadOnlyList<bool>> ClaimManyAsync(IReadOnlyList<PushClaim> claims, string owner, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(claims);
        if (claims.Count == 0)
        {
            return [];
        }

        var (ids, attempts) = ClaimArrays(claims);

        var won = await _database.QueryAsync(
            """
            WITH asked AS (
                SELECT DISTINCT ON (push_id) push_id, attempts
                FROM unnest($1::text[], $2::integer[]) WITH ORDINALITY AS u(push_id, attempts, ord)
                ORDER BY push_id, ord),
            locked AS (
                SELECT j.push_id, asked.attempts FROM push_journal j JOIN asked ON j.push_id = asked.push_id
                WHERE j.state = 0 AND j.owner = $3
                ORDER BY j.push_id
                FOR UPDATE OF j)
            UPDATE push_journal j SET state = 1, attempts = locked.attempts FROM locked WHERE j.push_id = locked.push_id
            RETURNING j.push_id;
            """,
            r => r.GetString(0),
            cancellationToken,
            P(ids),
            P(attempts),
            P(owner)).ConfigureAwait(false);

        return Claimed(won, ids);
    }

    // The claims' push ids and attempt numbers as the two arrays the claim statements unnest, in the claims' order.
    private static (string[] Ids, int[] Attempts) ClaimArrays(IReadOnlyList<PushClaim> claims)
    {
        var ids = new string[claims.Count];
        var attempts = new int[claims.Count];
        for (var i = 0; i < claims.Count; i++)
        {
            (ids[i], attempts[i]) = (claims[i].PushId, claims[i].Attempts);
        }

        return (ids, attempts);
    }

    // One result per claim from the push ids the statement returned: a push id asked twice is won by its first occurrence.
    private static bool[] Claimed(List<string> won, string[] ids)
    {
        var fresh = new HashSet<string>(won, StringComparer.Ordinal);
        var claimed = new bool[ids.Length];
        for (var i = 0; i < claimed.Length; i++)
        {
            claimed[i] = fresh.Remove(ids[i]);
        }

        return claimed;
    }

    /// <inheritdoc />
    /// <remarks>
    /// One statement (one transaction, one commit) for the batch, rows updated in push id order. A batch naming a push id
    /// twice (the dispatch never does) is written one change after another, as the single calls would, so the last wins.
    /// </remarks>
    public async Task UpdateStatesAsync(IReadOnlyList<PushStateChange> changes, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(changes);
        if (changes.Count == 0)
        {
            return;
        }

        var ordered = changes.OrderBy(c => c.PushId, StringComparer.Ordinal).ToArray();
        for (var i = 1; i < ordered.Length; i++)
        {
            if (string.Equals(ordered[i].PushId, ordered[i - 1].PushId, StringComparison.Ordinal))
            {
                foreach (var c in changes)
                {
                    await UpdateStateAsync(c.PushId, c.State, c.Attempts, c.NotBefore, c.Reason, c.SentAt, cancellationToken).ConfigureAwait(false);
                }

                return;
            }
        }

        await _database.ExecuteAsync(
            """
            UPDATE push_journal j
            SET state = c.state, attempts = c.attempts, not_before = c.not_before, reason = c.reason, sent_at = COALESCE(c.sent_at, j.sent_at)
            FROM unnest($1::text[], $2::integer[], $3::integer[], $4::bigint[], $5::text[], $6::bigint[]) AS c(push_id, state, attempts, not_before, reason, sent_at)
            WHERE j.push_id = c.push_id;
            """,
            cancellationToken,
            P(ordered.Select(c => c.PushId).ToArray()),
            P(ordered.Select(c => (int)c.State).ToArray()),
            P(ordered.Select(c => c.Attempts).ToArray()),
            P(ordered.Select(c => c.NotBefore).ToArray()),
            P(ordered.Select(c => c.Reason).ToArray()),
            P(ordered.Select(c => c.SentAt).ToArray())).ConfigureAwait(false);
    }

    /// <inheritdoc />
    /// <remarks>
    /// One statement, so one transaction and one commit (issue 17, stop 47: the default ran <see cref="UpdateStatesAsync"/>
    /// and <see cref="ClaimManyAsync"/> as two, two commits per dispatch batch): the changes in a data-modifying CTE, rows
    /// updated in push id order, then the claims with <see cref="ClaimManyAsync"/>'s fence and lock order. The two parts
    /// name distinct rows (checked: a batch that names a push id twice runs the two calls in order, as before), so the
    /// claims' snapshot, taken before the changes, sees every row they fence on as it was.
    /// </remarks>
    public async Task<IReadOnlyList<bool>> UpdateStatesAndClaimManyAsync(IReadOnlyList<PushStateChange> changes, IReadOnlyList<PushClaim> claims, string owner, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(changes);
        ArgumentNullException.ThrowIfNull(claims);
        if (claims.Count == 0 || changes.Count == 0)
        {
            if (changes.Count > 0)
            {
                await UpdateStatesAsync(changes, cancellationToken).ConfigureAwait(false);
            }

            return claims.Count > 0 ? await ClaimManyAsync(claims, owner, cancellationToken).ConfigureAwait(false) : [];
        }

        var names = new HashSet<string>(changes.Count + claims.Count, StringComparer.Ordinal);
        if (!changes.All(c => names.Add(c.PushId)) || !claims.All(c => names.Add(c.PushId)))
        {
            await UpdateStatesAsync(changes, cancellationToken).ConfigureAwait(false);
            return await ClaimManyAsync(claims, owner, cancellationToken).ConfigureAwait(false);
        }

        var ordered = changes.OrderBy(c => c.PushId, StringComparer.Ordinal).ToArray();
        var (ids, attempts) = ClaimArrays(claims);

        var won = await _database.QueryAsync(
            """
            WITH changed AS (
                UPDATE push_journal j
                SET state = c.state, attempts = c.attempts, not_before = c.not_before, reason = c.reason, sent_at = COALESCE(c.sent_at, j.sent_at)
                FROM unnest($1::text[], $2::integer[], $3::integer[], $4::bigint[], $5::text[], $6::bigint[]) AS c(push_id, state, attempts, not_before, reason, sent_at)
                WHERE j.push_id = c.push_id
                RETURNING j.push_id),
            asked AS (
                SELECT push_id, attempts FROM unnest($7::text[], $8::integer[]) AS u(push_id, attempts)),
            locked AS (
                SELECT j.push_id, asked.attempts FROM push_journal j JOIN asked ON j.push_id = asked.push_id
                WHERE j.state = 0 AND j.owner = $9
                ORDER BY j.push_id
                FOR UPDATE OF j)
            UPDATE push_journal j SET state = 1, attempts = locked.attempts FROM locked WHERE j.push_id = locked.push_id
            RETURNING j.push_id;
            """,
            r => r.GetString(0),
            cancellationToken,
            P(ordered.Select(c => c.PushId).ToArray()),
            P(ordered.Select(c => (int)c.State).ToArray()),
            P(ordered.Select(c => c.Attempts).ToArray()),
            P(ordered.Select(c => c.NotBefore).ToArray()),
            P(ordered.Select(c => c.Reason).ToArray()),
            P(ordered.Select(c => c.SentAt).ToArray()),
            P(ids),
            P(attempts),
            P(owner)).ConfigureAwait(false);

        return Claimed(won, ids);
    }

    /// <inheritdoc />
    public Task RenewLeaseAsync(string owner, long expiresAt, CancellationToken cancellationToken = default) =>
        _database.ExecuteAsync(
            "INSERT INTO push_leases (owner, expires_at) VALUES ($1, $2) ON CONFLICT (owner) DO UPDATE SET expires_at = GREATEST(push_leases.expires_at, EXCLUDED.expires_at);",
            cancellationToken,
            P(owner),
            P(expiresAt));

    /// <inheritdoc />
    public Task ReleaseLeaseAsync(string owner, CancellationToken cancellationToken = default) =>
        _database.ExecuteAsync("DELETE FROM push_leases WHERE owner = $1;", cancellationToken, P(owner));

    /// <inheritdoc />
    public async Task<IReadOnlyList<PushRecord>> AdoptAsync(string owner, string? previousPrefix, long now, int limit, CancellationToken cancellationToken = default)
    {
        // Row locks (FOR UPDATE, skipping rows another adopter holds) give each row exactly one adopter: a row adopted
        // meanwhile has a live owner when it is looked at again, so it no longer qualifies.
        await _database.ExecuteAsync("DELETE FROM push_leases WHERE expires_at <= $1;", cancellationToken, P(now)).ConfigureAwait(false);
        return await _database.QueryAsync(
            $"""
            WITH picked AS (
                SELECT push_id FROM push_journal p
                WHERE p.state IN (0, 1) AND p.owner <> $1
                  AND ((p.owner LIKE $2 ESCAPE '!') OR NOT EXISTS (SELECT 1 FROM push_leases l WHERE l.owner = p.owner AND l.expires_at > $3))
                ORDER BY p.created_at
                LIMIT $4
                FOR UPDATE SKIP LOCKED)
            UPDATE push_journal j SET owner = $1 FROM picked WHERE j.push_id = picked.push_id
            RETURNING {AdoptedColumns};
            """,
            Read,
            cancellationToken,
            P(owner),
            P(PushOwnerPrefix.LikePattern(previousPrefix)),
            P(now),
            P((long)limit)).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async Task<bool> ReplayAsync(string pushId, string owner, long notBefore, CancellationToken cancellationToken = default) =>
        await _database.ExecuteAsync(
            "UPDATE push_journal SET state = 0, attempts = 0, not_before = $3, reason = 'replay', owner = $2 WHERE push_id = $1 AND state = 5;",
            cancellationToken,
            P(pushId),
            P(owner),
            P(notBefore)).ConfigureAwait(false) == 1;

    private static readonly string AdoptedColumns = string.Join(", ", Columns.Split(", ").Select(c => "j." + c));
}
