using System.Data;
using Npgsql;
using Parley.Abstractions.Accounts;
using Parley.Abstractions.Social;
using static Parley.Storage.Postgres.Internal.PostgresRows;

namespace Parley.Storage.Postgres.Social;

/// <summary>
/// <see cref="IRelationStore"/> on PostgreSQL (migration 4). A write is one transaction that first takes the next
/// relation version from the state row (whose row lock orders concurrent writes), then upserts its rows in ONE batch.
/// A delta is read in one REPEATABLE READ snapshot.
/// </summary>
public sealed class PostgresRelationStore : IRelationStore
{
    private const string FriendColumns = "user_id, friend_id, remark, created_at, deleted, version";
    private const string RequestColumns = "from_user_id, to_user_id, message, state, created_at, handled_at, handle_message, version";
    private const string BlockColumns = "user_id, blocked_user_id, blocked, version";

    private readonly PostgresDatabase _database;

    public PostgresRelationStore(PostgresDatabase database)
    {
        ArgumentNullException.ThrowIfNull(database);
        _database = database;
    }

    /// <summary>Initialises the owner (idempotent: the server has usually done it already at start-up).</summary>
    public Task InitializeAsync(CancellationToken cancellationToken = default) => _database.InitializeAsync(cancellationToken);

    /// <inheritdoc />
    public async Task<RelationPair> GetPairAsync(string first, string second, CancellationToken cancellationToken = default)
    {
        if (string.CompareOrdinal(first, second) > 0)
        {
            throw new ArgumentException("first must be the ordinally smaller user id.", nameof(first));
        }

        var connection = await _database.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using (connection.ConfigureAwait(false))
        {
            var transaction = await connection.BeginTransactionAsync(IsolationLevel.RepeatableRead, cancellationToken).ConfigureAwait(false);
            await using (transaction.ConfigureAwait(false))
            {
                List<FriendRecord> friends;
                using (var command = Command(connection, "SELECT " + FriendColumns + " FROM friends WHERE (user_id = $1 AND friend_id = $2) OR (user_id = $2 AND friend_id = $1);", P(first), P(second)))
                {
                    friends = await ReadAllAsync(command, ReadFriend, cancellationToken).ConfigureAwait(false);
                }

                List<FriendRequestRecord> requests;
                using (var command = Command(connection, "SELECT " + RequestColumns + " FROM friend_requests WHERE (from_user_id = $1 AND to_user_id = $2) OR (from_user_id = $2 AND to_user_id = $1);", P(first), P(second)))
                {
                    requests = await ReadAllAsync(command, ReadRequest, cancellationToken).ConfigureAwait(false);
                }

                List<BlockRecord> blocks;
                using (var command = Command(connection, "SELECT " + BlockColumns + " FROM blocks WHERE blocked AND ((user_id = $1 AND blocked_user_id = $2) OR (user_id = $2 AND blocked_user_id = $1));", P(first), P(second)))
                {
                    blocks = await ReadAllAsync(command, ReadBlock, cancellationToken).ConfigureAwait(false);
                }

                await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
                return new RelationPair(
                    first,
                    second,
                    friends.Find(f => f.UserId == first),
                    friends.Find(f => f.UserId == second),
                    requests.Find(r => r.FromUserId == first),
                    requests.Find(r => r.FromUserId == second),
                    blocks.Exists(b => b.UserId == first),
                    blocks.Exists(b => b.UserId == second));
            }
        }
    }

    /// <inheritdoc />
    public async Task<long> ApplyAsync(RelationWrite write, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(write);
        if (write.IsEmpty)
        {
            return await GetVersionAsync(cancellationToken).ConfigureAwait(false);
        }

        var connection = await _database.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using (connection.ConfigureAwait(false))
        {
            var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
            await using (transaction.ConfigureAwait(false))
            {
                long version;
                using (var next = Command(connection, "UPDATE relation_state SET version = version + 1 WHERE id = 1 RETURNING version;"))
                {
                    version = (long)(await next.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false))!;
                }

                using var batch = new NpgsqlBatch(connection);
                foreach (var f in write.Friends)
                {
                    batch.BatchCommands.Add(BatchCommand(
                        """
                        INSERT INTO friends (user_id, friend_id, remark, created_at, deleted, version) VALUES ($1, $2, $3, $4, $5, $6)
                        ON CONFLICT (user_id, friend_id) DO UPDATE SET
                            remark = EXCLUDED.remark, created_at = EXCLUDED.created_at, deleted = EXCLUDED.deleted, version = EXCLUDED.version;
                        """,
                        P(f.UserId), P(f.FriendId), P(f.Remark), P(f.CreatedAt), P(f.Deleted), P(version)));
                }

                foreach (var r in write.Requests)
                {
                    batch.BatchCommands.Add(BatchCommand(
                        """
                        INSERT INTO friend_requests (from_user_id, to_user_id, message, state, created_at, handled_at, handle_message, version)
                        VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
                        ON CONFLICT (from_user_id, to_user_id) DO UPDATE SET
                            message = EXCLUDED.message, state = EXCLUDED.state, created_at = EXCLUDED.created_at,
                            handled_at = EXCLUDED.handled_at, handle_message = EXCLUDED.handle_message, version = EXCLUDED.version;
                        """,
                        P(r.FromUserId), P(r.ToUserId), P(r.Message), P((int)r.State), P(r.CreatedAt), P(r.HandledAt), P(r.HandleMessage), P(version)));
                }

                foreach (var b in write.Blocks)
                {
                    batch.BatchCommands.Add(BatchCommand(
                        """
                        INSERT INTO blocks (user_id, blocked_user_id, blocked, version) VALUES ($1, $2, $3, $4)
                        ON CONFLICT (user_id, blocked_user_id) DO UPDATE SET blocked = EXCLUDED.blocked, version = EXCLUDED.version;
                        """,
                        P(b.UserId), P(b.BlockedUserId), P(b.Blocked), P(version)));
                }

                await batch.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
                await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
                return version;
            }
        }
    }

    /// <inheritdoc />
    public async Task<long> GetVersionAsync(CancellationToken cancellationToken = default) =>
        (await _database.QueryAsync("SELECT version FROM relation_state WHERE id = 1;", r => r.GetInt64(0), cancellationToken).ConfigureAwait(false))[0];

    /// <inheritdoc />
    public async Task<RelationChanges> GetChangesAsync(string userId, long sinceVersion, CancellationToken cancellationToken = default)
    {
        var connection = await _database.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using (connection.ConfigureAwait(false))
        {
            // One snapshot for the state row and every table.
            var transaction = await connection.BeginTransactionAsync(IsolationLevel.RepeatableRead, cancellationToken).ConfigureAwait(false);
            await using (transaction.ConfigureAwait(false))
            {
                long version;
                long purged;
                using (var state = Command(connection, "SELECT version, purged_version FROM relation_state WHERE id = 1;"))
                {
                    (version, purged) = (await ReadAllAsync(state, r => (r.GetInt64(0), r.GetInt64(1)), cancellationToken).ConfigureAwait(false))[0];
                }

                var full = sinceVersion <= 0 || sinceVersion < purged || sinceVersion > version;
                var since = full ? 0 : sinceVersion;
                List<FriendRecord> friends;
                using (var command = Command(connection, "SELECT " + FriendColumns + " FROM friends WHERE user_id = $1 AND version > $2" + (full ? " AND NOT deleted" : "") + " ORDER BY friend_id;", P(userId), P(since)))
                {
                    friends = await ReadAllAsync(command, ReadFriend, cancellationToken).ConfigureAwait(false);
                }

                List<FriendRequestRecord> requests;
                using (var command = Command(
                    connection,
                    "SELECT " + RequestColumns + " FROM friend_requests WHERE from_user_id = $1 AND version > $2 " +
                    "UNION ALL SELECT " + RequestColumns + " FROM friend_requests WHERE to_user_id = $1 AND version > $2 " +
                    "ORDER BY version, from_user_id, to_user_id;",
                    P(userId),
                    P(since)))
                {
                    requests = await ReadAllAsync(command, ReadRequest, cancellationToken).ConfigureAwait(false);
                }

                List<BlockRecord> blocks;
                using (var command = Command(connection, "SELECT " + BlockColumns + " FROM blocks WHERE user_id = $1 AND version > $2" + (full ? " AND blocked" : "") + " ORDER BY blocked_user_id;", P(userId), P(since)))
                {
                    blocks = await ReadAllAsync(command, ReadBlock, cancellationToken).ConfigureAwait(false);
                }

                await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
                return new RelationChanges(
                    version,
                    full,
                    [.. friends.Where(f => !f.Deleted)],
                    [.. friends.Where(f => f.Deleted).Select(f => f.FriendId)],
                    requests,
                    [.. blocks.Where(b => b.Blocked).Select(b => b.BlockedUserId)],
                    [.. blocks.Where(b => !b.Blocked).Select(b => b.BlockedUserId)]);
            }
        }
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<FriendRequestRecord>> ListRequestsAsync(string userId, bool incoming, int limit, CancellationToken cancellationToken = default) =>
        await _database.QueryAsync(
            "SELECT " + RequestColumns + " FROM friend_requests WHERE " + (incoming ? "to_user_id" : "from_user_id") + " = $1 ORDER BY created_at DESC, version DESC LIMIT $2;",
            ReadRequest,
            cancellationToken,
            P(userId),
            P((long)Math.Max(0, limit))).ConfigureAwait(false);

    /// <inheritdoc />
    public async Task<int> PurgeTombstonesAsync(long version, CancellationToken cancellationToken = default)
    {
        var connection = await _database.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using (connection.ConfigureAwait(false))
        {
            // One batch = one implicit transaction: the purge horizon moves with the rows it removed.
            using var batch = new NpgsqlBatch(connection);
            batch.BatchCommands.Add(BatchCommand("DELETE FROM friends WHERE deleted AND version <= $1;", P(version)));
            batch.BatchCommands.Add(BatchCommand("DELETE FROM blocks WHERE NOT blocked AND version <= $1;", P(version)));
            batch.BatchCommands.Add(BatchCommand("UPDATE relation_state SET purged_version = GREATEST(purged_version, LEAST($1, version)) WHERE id = 1;", P(version)));
            await batch.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            return batch.BatchCommands[0].RecordsAffected + batch.BatchCommands[1].RecordsAffected;
        }
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<UserRecord>> SearchUsersAsync(string query, int limit, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(query);
        if (query.Length == 0 || limit <= 0)
        {
            return [];
        }

        // strpos rather than LIKE: the query's % and _ are plain characters.
        return await _database.QueryAsync(
            """
            SELECT u.user_id, u.nickname, u.avatar_url, u.ex, u.created_at, u.updated_at
            FROM users u LEFT JOIN user_settings s ON s.user_id = u.user_id
            WHERE u.user_id = $1 OR (COALESCE(s.searchable, true) AND strpos(lower(u.nickname), lower($1)) > 0)
            ORDER BY (u.user_id = $1) DESC, lower(u.nickname), u.user_id
            LIMIT $2;
            """,
            r => new UserRecord(r.GetString(0), r.GetString(1), r.GetString(2), r.GetString(3), r.GetInt64(4), r.GetInt64(5)),
            cancellationToken,
            P(query),
            P((long)limit)).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async Task<bool> GetSearchableAsync(string userId, CancellationToken cancellationToken = default)
    {
        var values = await _database.QueryAsync("SELECT searchable FROM user_settings WHERE user_id = $1;", r => r.GetBoolean(0), cancellationToken, P(userId))
            .ConfigureAwait(false);
        return values.Count == 0 || values[0];
    }

    /// <inheritdoc />
    public async Task SetSearchableAsync(string userId, bool searchable, long updatedAt, CancellationToken cancellationToken = default) =>
        await _database.ExecuteAsync(
            """
            INSERT INTO user_settings (user_id, searchable, updated_at) VALUES ($1, $2, $3)
            ON CONFLICT (user_id) DO UPDATE SET searchable = EXCLUDED.searchable, updated_at = EXCLUDED.updated_at;
            """,
            cancellationToken,
            P(userId),
            P(searchable),
            P(updatedAt)).ConfigureAwait(false);

    private static FriendRecord ReadFriend(NpgsqlDataReader r) =>
        new(r.GetString(0), r.GetString(1), r.GetString(2), r.GetInt64(3), r.GetBoolean(4), r.GetInt64(5));

    private static FriendRequestRecord ReadRequest(NpgsqlDataReader r) =>
        new(r.GetString(0), r.GetString(1), r.GetString(2), (FriendRequestState)r.GetInt32(3), r.GetInt64(4), r.GetInt64(5), r.GetString(6), r.GetInt64(7));

    private static BlockRecord ReadBlock(NpgsqlDataReader r) =>
        new(r.GetString(0), r.GetString(1), r.GetBoolean(2), r.GetInt64(3));
}
