using System.Globalization;
using Microsoft.Data.Sqlite;
using Parley.Abstractions.Accounts;
using Parley.Abstractions.Social;
using Parley.Storage.Sqlite.Internal;

namespace Parley.Storage.Sqlite.Social;

/// <summary>
/// <see cref="IRelationStore"/>: a view over the file's <see cref="SqliteDatabase"/> (schema version 5). A write is one
/// write in the owner's writer queue (inside its group transaction) that takes the next relation version first, so
/// versions commit in order and a reader never sees a higher version before a lower one. A delta is read inside one read transaction (one snapshot).
/// </summary>
public sealed class SqliteRelationStore : IRelationStore
{
    private const string FriendColumns = "user_id, friend_id, remark, created_at, deleted, version";
    private const string RequestColumns = "from_user_id, to_user_id, message, state, created_at, handled_at, handle_message, version";
    private const string BlockColumns = "user_id, blocked_user_id, blocked, version";

    // One statement on a statement prepared once per pooled read connection (issue 17): every new 1:1 conversation reads
    // it, and GetPairAsync's transaction of three parsed queries allocated 6.4 KB of the 24.5 KB such a message cost.
    private const string PairFlagsSql = """
        SELECT EXISTS (SELECT 1 FROM blocks WHERE user_id = $a AND blocked_user_id = $b AND blocked = 1),
               EXISTS (SELECT 1 FROM blocks WHERE user_id = $b AND blocked_user_id = $a AND blocked = 1),
               EXISTS (SELECT 1 FROM friends WHERE user_id = $a AND friend_id = $b AND deleted = 0)
                 AND EXISTS (SELECT 1 FROM friends WHERE user_id = $b AND friend_id = $a AND deleted = 0);
        """;

    private static readonly string[] PairParameters = ["$a", "$b"];

    // PairFlagsSql's three columns and the account check of GetUserAsync (a users row by its key), in one statement.
    private const string PairFlagsAndUserSql = """
        SELECT EXISTS (SELECT 1 FROM blocks WHERE user_id = $a AND blocked_user_id = $b AND blocked = 1),
               EXISTS (SELECT 1 FROM blocks WHERE user_id = $b AND blocked_user_id = $a AND blocked = 1),
               EXISTS (SELECT 1 FROM friends WHERE user_id = $a AND friend_id = $b AND deleted = 0)
                 AND EXISTS (SELECT 1 FROM friends WHERE user_id = $b AND friend_id = $a AND deleted = 0),
               EXISTS (SELECT 1 FROM users WHERE user_id = $u);
        """;

    private static readonly string[] PairAndUserParameters = ["$a", "$b", "$u"];

    private readonly SqliteDatabase _database;

    public SqliteRelationStore(SqliteDatabase database)
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

        var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using (connection.ConfigureAwait(false))
        {
            using var transaction = connection.BeginTransaction(deferred: true);
            void Bind(SqliteParameterCollection p)
            {
                p.AddWithValue("$a", first);
                p.AddWithValue("$b", second);
            }

            var friends = await QueryAsync(connection, transaction,
                "SELECT " + FriendColumns + " FROM friends WHERE (user_id = $a AND friend_id = $b) OR (user_id = $b AND friend_id = $a);",
                Bind, ReadFriend, cancellationToken).ConfigureAwait(false);
            var requests = await QueryAsync(connection, transaction,
                "SELECT " + RequestColumns + " FROM friend_requests WHERE (from_user_id = $a AND to_user_id = $b) OR (from_user_id = $b AND to_user_id = $a);",
                Bind, ReadRequest, cancellationToken).ConfigureAwait(false);
            var blocks = await QueryAsync(connection, transaction,
                "SELECT " + BlockColumns + " FROM blocks WHERE blocked = 1 AND ((user_id = $a AND blocked_user_id = $b) OR (user_id = $b AND blocked_user_id = $a));",
                Bind, ReadBlock, cancellationToken).ConfigureAwait(false);
            transaction.Commit();

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

    /// <inheritdoc />
    public async Task<RelationFlags> GetPairFlagsAsync(string first, string second, CancellationToken cancellationToken = default)
    {
        if (string.CompareOrdinal(first, second) > 0)
        {
            throw new ArgumentException("first must be the ordinally smaller user id.", nameof(first));
        }

        var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using (connection.ConfigureAwait(false))
        {
            var statement = _database.Prepared(connection, PairFlagsSql, PairParameters);
            try
            {
                statement.Bind(0, first);
                statement.Bind(1, second);
                return statement.Read()
                    ? new RelationFlags(statement.GetInt64(0) != 0, statement.GetInt64(1) != 0, statement.GetInt64(2) != 0)
                    : default;
            }
            finally
            {
                statement.Reset();
            }
        }
    }

    /// <inheritdoc />
    public async ValueTask<(RelationFlags Flags, bool UserExists)?> GetPairFlagsAndUserAsync(string first, string second, string userId, CancellationToken cancellationToken = default)
    {
        if (string.CompareOrdinal(first, second) > 0)
        {
            throw new ArgumentException("first must be the ordinally smaller user id.", nameof(first));
        }

        var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using (connection.ConfigureAwait(false))
        {
            var statement = _database.Prepared(connection, PairFlagsAndUserSql, PairAndUserParameters);
            try
            {
                statement.Bind(0, first);
                statement.Bind(1, second);
                statement.Bind(2, userId);
                return statement.Read()
                    ? (new RelationFlags(statement.GetInt64(0) != 0, statement.GetInt64(1) != 0, statement.GetInt64(2) != 0), statement.GetInt64(3) != 0)
                    : (default(RelationFlags), false);
            }
            finally
            {
                statement.Reset();
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

        return await _database.WriteAsync(async (connection, cancellationToken) =>
        {
            // The writer queue holds the write lock: versions commit in increasing order.
            SqliteTransaction? transaction = null;
            long version;
            using (var next = connection.CreateCommand())
            {
                next.Transaction = transaction;
                next.CommandText = "UPDATE relation_state SET version = version + 1 WHERE id = 1 RETURNING version;";
                version = Convert.ToInt64(await next.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false), CultureInfo.InvariantCulture);
            }

            foreach (var f in write.Friends)
            {
                await ExecuteAsync(connection, transaction,
                    """
                    INSERT INTO friends (user_id, friend_id, remark, created_at, deleted, version)
                    VALUES ($user, $friend, $remark, $created, $deleted, $version)
                    ON CONFLICT (user_id, friend_id) DO UPDATE SET
                        remark = excluded.remark, created_at = excluded.created_at, deleted = excluded.deleted, version = excluded.version;
                    """,
                    p =>
                    {
                        p.AddWithValue("$user", f.UserId);
                        p.AddWithValue("$friend", f.FriendId);
                        p.AddWithValue("$remark", f.Remark);
                        p.AddWithValue("$created", f.CreatedAt);
                        p.AddWithValue("$deleted", f.Deleted ? 1 : 0);
                        p.AddWithValue("$version", version);
                    },
                    cancellationToken).ConfigureAwait(false);
            }

            foreach (var r in write.Requests)
            {
                await ExecuteAsync(connection, transaction,
                    """
                    INSERT INTO friend_requests (from_user_id, to_user_id, message, state, created_at, handled_at, handle_message, version)
                    VALUES ($from, $to, $message, $state, $created, $handled, $handleMessage, $version)
                    ON CONFLICT (from_user_id, to_user_id) DO UPDATE SET
                        message = excluded.message, state = excluded.state, created_at = excluded.created_at,
                        handled_at = excluded.handled_at, handle_message = excluded.handle_message, version = excluded.version;
                    """,
                    p =>
                    {
                        p.AddWithValue("$from", r.FromUserId);
                        p.AddWithValue("$to", r.ToUserId);
                        p.AddWithValue("$message", r.Message);
                        p.AddWithValue("$state", (int)r.State);
                        p.AddWithValue("$created", r.CreatedAt);
                        p.AddWithValue("$handled", r.HandledAt);
                        p.AddWithValue("$handleMessage", r.HandleMessage);
                        p.AddWithValue("$version", version);
                    },
                    cancellationToken).ConfigureAwait(false);
            }

            foreach (var b in write.Blocks)
            {
                await ExecuteAsync(connection, transaction,
                    """
                    INSERT INTO blocks (user_id, blocked_user_id, blocked, version) VALUES ($user, $blocked, $flag, $version)
                    ON CONFLICT (user_id, blocked_user_id) DO UPDATE SET blocked = excluded.blocked, version = excluded.version;
                    """,
                    p =>
                    {
                        p.AddWithValue("$user", b.UserId);
                        p.AddWithValue("$blocked", b.BlockedUserId);
                        p.AddWithValue("$flag", b.Blocked ? 1 : 0);
                        p.AddWithValue("$version", version);
                    },
                    cancellationToken).ConfigureAwait(false);
            }

            return version;
        }, cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async Task<long> GetVersionAsync(CancellationToken cancellationToken = default)
    {
        var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using (connection.ConfigureAwait(false))
        {
            var (version, _) = await ReadStateAsync(connection, null, cancellationToken).ConfigureAwait(false);
            return version;
        }
    }

    /// <inheritdoc />
    public async Task<RelationChanges> GetChangesAsync(string userId, long sinceVersion, CancellationToken cancellationToken = default)
    {
        var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using (connection.ConfigureAwait(false))
        {
            // One snapshot for the state row and every table.
            using var transaction = connection.BeginTransaction(deferred: true);
            var (version, purged) = await ReadStateAsync(connection, transaction, cancellationToken).ConfigureAwait(false);
            var full = sinceVersion <= 0 || sinceVersion < purged || sinceVersion > version;
            var since = full ? 0 : sinceVersion;
            void Bind(SqliteParameterCollection p)
            {
                p.AddWithValue("$user", userId);
                p.AddWithValue("$since", since);
            }

            var friends = await QueryAsync(connection, transaction,
                "SELECT " + FriendColumns + " FROM friends WHERE user_id = $user AND version > $since" + (full ? " AND deleted = 0" : "") + " ORDER BY friend_id;",
                Bind, ReadFriend, cancellationToken).ConfigureAwait(false);
            var requests = await QueryAsync(connection, transaction,
                "SELECT " + RequestColumns + " FROM friend_requests WHERE from_user_id = $user AND version > $since " +
                "UNION ALL SELECT " + RequestColumns + " FROM friend_requests WHERE to_user_id = $user AND version > $since " +
                "ORDER BY version, from_user_id, to_user_id;",
                Bind, ReadRequest, cancellationToken).ConfigureAwait(false);
            var blocks = await QueryAsync(connection, transaction,
                "SELECT " + BlockColumns + " FROM blocks WHERE user_id = $user AND version > $since" + (full ? " AND blocked = 1" : "") + " ORDER BY blocked_user_id;",
                Bind, ReadBlock, cancellationToken).ConfigureAwait(false);
            transaction.Commit();

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

    /// <inheritdoc />
    public async Task<IReadOnlyList<FriendRequestRecord>> ListRequestsAsync(string userId, bool incoming, int limit, CancellationToken cancellationToken = default)
    {
        var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using (connection.ConfigureAwait(false))
        {
            return await QueryAsync(connection, null,
                "SELECT " + RequestColumns + " FROM friend_requests WHERE " + (incoming ? "to_user_id" : "from_user_id") + " = $user " +
                "ORDER BY created_at DESC, version DESC LIMIT $limit;",
                p =>
                {
                    p.AddWithValue("$user", userId);
                    p.AddWithValue("$limit", Math.Max(0, limit));
                },
                ReadRequest, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <inheritdoc />
    public async Task<int> PurgeTombstonesAsync(long version, CancellationToken cancellationToken = default)
    {
        return await _database.WriteAsync(async (connection, cancellationToken) =>
        {
            SqliteTransaction? transaction = null;
            void Bind(SqliteParameterCollection p) => p.AddWithValue("$v", version);
            var rows = await ExecuteAsync(connection, transaction, "DELETE FROM friends WHERE deleted = 1 AND version <= $v;", Bind, cancellationToken).ConfigureAwait(false);
            rows += await ExecuteAsync(connection, transaction, "DELETE FROM blocks WHERE blocked = 0 AND version <= $v;", Bind, cancellationToken).ConfigureAwait(false);
            await ExecuteAsync(connection, transaction, "UPDATE relation_state SET purged_version = MAX(purged_version, MIN($v, version)) WHERE id = 1;", Bind, cancellationToken).ConfigureAwait(false);
            return rows;
        }, cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<UserRecord>> SearchUsersAsync(string query, int limit, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(query);
        if (query.Length == 0 || limit <= 0)
        {
            return [];
        }

        var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using (connection.ConfigureAwait(false))
        {
            // instr rather than LIKE: the query's % and _ are plain characters. A scan of users; fine for a
            // self-hosted directory, an FTS index is the next step if it is not.
            return await QueryAsync(connection, null,
                """
                SELECT u.user_id, u.nickname, u.avatar_url, u.ex, u.created_at, u.updated_at
                FROM users u LEFT JOIN user_settings s ON s.user_id = u.user_id
                WHERE u.user_id = $q OR (COALESCE(s.searchable, 1) = 1 AND instr(lower(u.nickname), lower($q)) > 0)
                ORDER BY (u.user_id = $q) DESC, lower(u.nickname), u.user_id
                LIMIT $limit;
                """,
                p =>
                {
                    p.AddWithValue("$q", query);
                    p.AddWithValue("$limit", limit);
                },
                r => new UserRecord(r.GetString(0), r.GetString(1), r.GetString(2), r.GetString(3), r.GetInt64(4), r.GetInt64(5)),
                cancellationToken).ConfigureAwait(false);
        }
    }

    /// <inheritdoc />
    public async Task<bool> GetSearchableAsync(string userId, CancellationToken cancellationToken = default)
    {
        var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using (connection.ConfigureAwait(false))
        {
            var values = await QueryAsync(connection, null, "SELECT searchable FROM user_settings WHERE user_id = $user;",
                p => p.AddWithValue("$user", userId), r => r.GetInt64(0) != 0, cancellationToken).ConfigureAwait(false);
            return values.Count == 0 || values[0];
        }
    }

    /// <inheritdoc />
    public async Task SetSearchableAsync(string userId, bool searchable, long updatedAt, CancellationToken cancellationToken = default)
    {
        await _database.WriteAsync((connection, cancellationToken) =>
            ExecuteAsync(connection, null,
                """
                INSERT INTO user_settings (user_id, searchable, updated_at) VALUES ($user, $searchable, $at)
                ON CONFLICT (user_id) DO UPDATE SET searchable = excluded.searchable, updated_at = excluded.updated_at;
                """,
                p =>
                {
                    p.AddWithValue("$user", userId);
                    p.AddWithValue("$searchable", searchable ? 1 : 0);
                    p.AddWithValue("$at", updatedAt);
                },
                cancellationToken), cancellationToken).ConfigureAwait(false);
    }

    private static FriendRecord ReadFriend(SqliteDataReader r) =>
        new(r.GetString(0), r.GetString(1), r.GetString(2), r.GetInt64(3), r.GetInt64(4) != 0, r.GetInt64(5));

    private static FriendRequestRecord ReadRequest(SqliteDataReader r) =>
        new(r.GetString(0), r.GetString(1), r.GetString(2), (FriendRequestState)r.GetInt32(3), r.GetInt64(4), r.GetInt64(5), r.GetString(6), r.GetInt64(7));

    private static BlockRecord ReadBlock(SqliteDataReader r) =>
        new(r.GetString(0), r.GetString(1), r.GetInt64(2) != 0, r.GetInt64(3));

    private static async Task<(long Version, long Purged)> ReadStateAsync(SqliteConnection connection, SqliteTransaction? transaction, CancellationToken cancellationToken)
    {
        var rows = await QueryAsync(connection, transaction, "SELECT version, purged_version FROM relation_state WHERE id = 1;",
            _ => { }, r => (r.GetInt64(0), r.GetInt64(1)), cancellationToken).ConfigureAwait(false);
        return rows.Count == 0 ? (0, 0) : rows[0];
    }

    private ValueTask<SqliteConnection> OpenAsync(CancellationToken cancellationToken) => _database.OpenReaderAsync(cancellationToken);

    private static async Task<int> ExecuteAsync(SqliteConnection connection, SqliteTransaction? transaction, string sql, Action<SqliteParameterCollection> bind, CancellationToken cancellationToken)
    {
        using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = sql;
        bind(command.Parameters);
        return await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    private static async Task<List<T>> QueryAsync<T>(SqliteConnection connection, SqliteTransaction? transaction, string sql, Action<SqliteParameterCollection> bind, Func<SqliteDataReader, T> read, CancellationToken cancellationToken)
    {
        using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = sql;
        bind(command.Parameters);
        var results = new List<T>();
        using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            results.Add(read(reader));
        }

        return results;
    }
}
