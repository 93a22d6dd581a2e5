using System.Globalization;
using Microsoft.Data.Sqlite;
using Parley.Abstractions.Messaging;
using Parley.Storage.Sqlite.Internal;

namespace Parley.Storage.Sqlite;

public sealed partial class SqliteMessageStore
{
    internal const string ChangedViewsSql = SqliteRows.ViewSelect
        + " AND (m.feed_version > $since OR (m.active = 1 AND c.change_version > $since)) ORDER BY MAX(m.feed_version, c.change_version), c.conversation_id;";
    internal const string OneViewSql = SqliteRows.ViewSelect + " AND m.conv_key = " + SqliteRows.ConvKey + ";";
    private const string PageViewsSql = SqliteRows.ViewSelect + " ORDER BY m.pinned DESC, c.updated_at DESC, c.head_version DESC, c.conversation_id LIMIT $limit OFFSET $offset;";

    // Read diffusion (ADR 0017): the super groups that advanced since the cursor, found from the groups' head versions
    // (partial index, cost proportional to the advanced groups), kept where the user is an active member whose own row
    // did not change (those come with ChangedViewsSql). CROSS JOIN keeps SQLite from starting at the user's memberships.
    internal const string AdvancedSuperGroupsSql = """
        SELECT c.conversation_id FROM conversations c CROSS JOIN members m
        WHERE c.read_diffusion = 1 AND c.head_version > $since
          AND m.conv_key = c.conv_key AND m.user_id = $user AND m.active = 1 AND m.feed_version <= $since
        ORDER BY c.head_version;
        """;

    /// <summary>
    /// Up to this many changed rows above a sync's cursor, the walk for the newest rows starts no lower than the lowest of them (stop 46, ADR 0034): see
    /// <see cref="ChangedMessagesStatement"/>.
    /// </summary>
    internal const int SyncWalkBound = 1000;

    private static readonly string SyncWalkBoundText = SyncWalkBound.ToString(System.Globalization.CultureInfo.InvariantCulture);

    // The newest $limit visible messages above the cursor of EVERY changed conversation, in one statement (issue 17: it was
    // one query per conversation). $convs is a JSON array of the conversations in view order; a row's first column is the
    // conversation's index in it. Per conversation (cost proportional to the messages returned, not to the history):
    // - c: the conversation's key and the viewer's active membership (visible_from; NULL when not an active member), found
    //   once, not per message row: a row is visible at or after visible_from, or within one of the viewer's former periods
    //   (SqliteRows.VisibleToUser's rule, whose two EXISTS with a conversation-key lookup ran for every row, stop 38);
    // - where the rows above the cursor are (ADR 0034): those first committed after it are a seq range from b, the last
    //   anchor at or below the cursor (ix_messages_anchor, at most 63 rows below the first of them); every row above the
    //   cursor below b is a changed one (an edit, a revoke, a row from before migration 15: ix_messages_changed, covering).
    //   mc is the lowest seq of the changed rows above the cursor, NULL when there are SyncWalkBound or more of them (then
    //   the walk starts at seq 0 and ends at $limit rows, as before stop 46: a catch-up over many edits);
    // - w: l, the lowest seq of the newest $limit visible rows above the cursor: the newest of the range from b (a walk of the
    //   primary key newest first, stopping at $limit rows or at b) and, when changed rows lie below b, the newest of them by
    //   seq (from the changed index's entries, no table row read). Only then a compound with its sorters: without changed
    //   rows below b (nearly every sync) l is the walk's lowest seq, and the statement opens no sorter (each cost more than
    //   the whole statement of a one-message sync);
    // - the rows: the range from MAX(l, b) ascending in key order, plus the changed rows from l up to b, each by its key
    //   (stop 48: before, the walk and the scan read the range from the lowest changed row up, so an edit of an old message
    //   made an incremental sync read the history between it and the new rows, twice).
    // SQLite cannot know that versions fall with seq: without these bounds a walk that finds fewer than $limit rows above
    // the cursor (an incremental sync) goes on to the conversation's first row (stop 46: a 31,011-message conversation, 701
    // pages for one new message). The conditions on mc and b alone are tested once per conversation, before any page of the
    // changed index is read. c and w are MATERIALIZED: each conversation's bounds are computed once, not once per reference.
    // No ORDER BY: SQLite's sorter copied every row, content included; the caller sorts a conversation's rows if they come
    // out of order (the changed rows below b come first, in version order).
    // (Declared before the two statements that use it: static fields are initialised in text order.)
    private static string ChangedMessagesStatement(string columns)
    {
        static string VersionAbove(string a) => a + ".version > $since AND +" + a + ".version <= $until";
        const string Walk = "CASE WHEN c.mc IS NULL THEN 0 ELSE c.b END";
        var newest = "SELECT msg.seq FROM messages msg WHERE msg.conv_key = c.ck AND msg.seq >= " + Walk + " AND " + VersionAbove("msg") + " AND "
            + SyncVisible("msg", "c") + " ORDER BY msg.seq DESC LIMIT $limit";
        return "WITH c AS MATERIALIZED (SELECT j.key AS k, j.value AS id, ck.conv_key AS ck, vm.visible_from AS vf, "
            + SqliteVersionIndex.FirstNewSeqBound("ck.conv_key", "$since") + " AS b, "
            + "(SELECT COALESCE(MIN(x.seq), 9223372036854775807) FROM (SELECT n.seq FROM messages n INDEXED BY ix_messages_changed WHERE n.conv_key = ck.conv_key AND "
            + SqliteVersionIndex.Changed("n") + " AND " + VersionAbove("n") + " LIMIT " + SyncWalkBoundText + ") x HAVING COUNT(*) < " + SyncWalkBoundText + ") AS mc"
            + " FROM json_each($convs) j JOIN conversations ck ON ck.conversation_id = j.value"
            + " LEFT JOIN members vm ON vm.conv_key = ck.conv_key AND vm.user_id = $user AND vm.active = 1),"
            + " w AS MATERIALIZED (SELECT c.k, c.id, c.ck, c.vf, " + Walk + " AS b, c.mc, CASE WHEN c.mc < c.b THEN (SELECT MIN(x.seq) FROM ("
            + "SELECT seq FROM (" + newest + ")"
            + " UNION ALL SELECT seq FROM (SELECT n.seq FROM messages n INDEXED BY ix_messages_changed WHERE n.conv_key = c.ck AND "
            + SqliteVersionIndex.Changed("n") + " AND " + VersionAbove("n") + " AND n.seq < c.b AND " + SyncVisible("n", "c") + " ORDER BY n.seq DESC LIMIT $limit)"
            + " ORDER BY 1 DESC LIMIT $limit) x) ELSE (SELECT MIN(x.seq) FROM (" + newest + ") x) END AS l FROM c)"
            + " SELECT " + columns + " FROM w CROSS JOIN messages n INDEXED BY ix_messages_changed CROSS JOIN messages o"
            + " WHERE w.mc < w.b AND w.l < w.b AND n.conv_key = w.ck AND " + SqliteVersionIndex.Changed("n") + " AND " + VersionAbove("n") + " AND n.seq >= w.l AND n.seq < w.b"
            + " AND o.conv_key = w.ck AND o.seq = n.seq AND " + SyncVisible("o", "w")
            + " UNION ALL SELECT " + columns + " FROM w CROSS JOIN messages o"
            + " WHERE o.conv_key = w.ck AND o.seq >= MAX(w.l, w.b) AND " + VersionAbove("o") + " AND " + SyncVisible("o", "w") + ";";
    }

    internal static readonly string ChangedMessagesSql = ChangedMessagesStatement("w.k, w.id, " + Prefixed("o", SqliteRows.MessageColumnsAfterId));

    // The same rows for a sink (ISyncRowSource): only what a synced message's frame carries (SyncRow), in ReadSyncRow's
    // order. Not the conversation id (the sink gets the view's, encoded once per conversation), the content kind or the
    // reply seq (the frame has neither): each column read was two or three native calls per row (stop 39).
    private static readonly string SinkMessagesSql =
        ChangedMessagesStatement("w.k, o.seq, o.server_msg_id, o.sender_id, o.client_msg_id, o.server_time, o.content, o.revoked, o.version, o.annotations");

    // The visibility rule of ChangedMessagesSql for message alias a, with c the conversation's row (its vf, the viewer's
    // active member row's visible_from or NULL, and its id): as SqliteRows.VisibleToUser (NULL >= ... is NULL, so an absent
    // member row leaves only the periods).
    private static string SyncVisible(string a, string c) =>
        "(" + a + ".seq >= " + c + ".vf OR EXISTS (SELECT 1 FROM member_periods vp WHERE vp.conversation_id = " + c + ".id AND vp.user_id = $user AND "
        + a + ".seq BETWEEN vp.from_seq AND vp.to_seq))";

    private static readonly string[] UserParameter = ["$user"];
    private static readonly string[] UserSinceParameters = ["$user", "$since"];
    private static readonly string[] UserConversationParameters = ["$user", "$conv"];
    private static readonly string[] ChangedMessagesParameters = ["$convs", "$since", "$limit", "$user", "$until"];
    private static readonly string[] NoParameters = [];
    private static readonly string[] ConversationParameter = ["$conv"];
    // The messages' last seq too (one seek of the primary key): a conversation's max_seq may wait for the next flush of the
    // derived rows (ADR 0028), and a grain reactivated in between must allocate the seq after its last message.
    private const string ConversationByIdSql = """
        SELECT c.conversation_id, c.kind, c.group_id, c.name, c.creator_id, c.created_at,
               MAX(c.max_seq, COALESCE((SELECT MAX(m.seq) FROM messages m WHERE m.conv_key = c.conv_key), 0))
        FROM conversations c WHERE c.conversation_id = $conv;
        """;

    /// <inheritdoc />
    public async Task<long> GetMaxVersionAsync(CancellationToken cancellationToken = default)
    {
        // The commit pipeline's first call, before any send: the last process's pending derived rows are written first.
        if (_recoverDueForReaders)
        {
            await FlushDerivedRowsAsync(cancellationToken).ConfigureAwait(false);
        }

        var connection = await OpenReaderAsync(cancellationToken).ConfigureAwait(false);
        await using (connection.ConfigureAwait(false))
        {
            // On a resuming client's connect (the cursor check): prepared once per pooled connection.
            return _database.Prepared(connection, MaxVersionSql, NoParameters).ReadInt64OrZero();
        }
    }

    /// <inheritdoc />
    public async Task<long> GetSyncVersionAsync(CancellationToken cancellationToken = default)
    {
        await FlushIfPendingAsync(cancellationToken).ConfigureAwait(false);
        var connection = await OpenReaderAsync(cancellationToken).ConfigureAwait(false);
        await using (connection.ConfigureAwait(false))
        {
            return _database.Prepared(connection, SyncVersionSql, NoParameters).ReadInt64OrZero();
        }
    }

    /// <inheritdoc />
    public async Task<ConversationRecord?> GetConversationAsync(string conversationId, CancellationToken cancellationToken = default)
    {
        // On every conversation activation (issue 17: nearly every message of a random-pairs load opens one): prepared
        // once per pooled connection instead of parsed, planned and bound through a command on each call.
        var connection = await OpenReaderAsync(cancellationToken).ConfigureAwait(false);
        await using (connection.ConfigureAwait(false))
        {
            var statement = _database.Prepared(connection, ConversationByIdSql, ConversationParameter);
            try
            {
                statement.Bind(0, conversationId);
                if (!statement.Read())
                {
                    return null;
                }

                return new ConversationRecord(
                    statement.GetString(0),
                    (ConversationKind)statement.GetInt32(1),
                    statement.IsDBNull(2) ? null : statement.GetString(2),
                    statement.GetString(3),
                    statement.GetString(4),
                    statement.GetInt64(5),
                    statement.GetInt64(6));
            }
            finally
            {
                statement.Reset();
            }
        }
    }

    // LoadConversationAsync's three statements (issue 17, stop 47), each prepared once per pooled connection: the row with
    // its key (the text id's index is walked once, not once per statement), then the members and the newest messages by key.
    private const string ConversationLoadSql = """
        SELECT c.conversation_id, c.kind, c.group_id, c.name, c.creator_id, c.created_at,
               MAX(c.max_seq, COALESCE((SELECT MAX(m.seq) FROM messages m WHERE m.conv_key = c.conv_key), 0)), c.conv_key
        FROM conversations c WHERE c.conversation_id = $conv;
        """;

    private const string MembersByKeySql = "SELECT " + SqliteRows.MemberColumns + " FROM members WHERE conv_key = $key ORDER BY user_id;";

    private const string NewestByKeySql = "SELECT " + SqliteRows.MessageColumns + " FROM messages WHERE conv_key = $key ORDER BY seq DESC LIMIT $limit;";

    private static readonly string[] KeyParameter = ["$key"];

    private static readonly string[] ConversationKeyLimitParameters = ["$conv", "$key", "$limit"];

    /// <summary>
    /// A conversation's activation reads in one read transaction on one pooled connection (issue 17, stop 47): before, a 1:1's
    /// activation took three connections and three snapshots, and the members' and messages' statements each found the
    /// conversation's key through the text id's index again (and were parsed and planned on every call). Same rows as
    /// <see cref="GetConversationAsync"/>, <see cref="GetMembersAsync"/> and <see cref="ReadMessagesAsync"/> backward, from one
    /// snapshot; the members' derived rows are written first when pending (ADR 0028), as GetMembersAsync does.
    /// </summary>
    public async Task<ConversationLoad?> LoadConversationAsync(string conversationId, int newest, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(newest);
        await FlushIfPendingAsync(conversationId, cancellationToken).ConfigureAwait(false);
        var connection = await OpenReaderAsync(cancellationToken).ConfigureAwait(false);
        await using (connection.ConfigureAwait(false))
        {
            Step(_database.Prepared(connection, "BEGIN DEFERRED;", NoParameters));
            try
            {
                var load = LoadConversation(connection, conversationId, newest);
                Step(_database.Prepared(connection, "COMMIT;", NoParameters));
                return load;
            }
            finally
            {
                if (SQLitePCL.raw.sqlite3_get_autocommit(connection.Handle) == 0)
                {
                    Step(_database.Prepared(connection, "ROLLBACK;", NoParameters));
                }
            }
        }
    }

    private ConversationLoad? LoadConversation(SqliteConnection connection, string conversationId, int newest)
    {
        ConversationRecord record;
        long key;
        var statement = _database.Prepared(connection, ConversationLoadSql, ConversationParameter);
        try
        {
            statement.Bind(0, conversationId);
            if (!statement.Read())
            {
                return null;
            }

            record = new ConversationRecord(
                statement.GetString(0),
                (ConversationKind)statement.GetInt32(1),
                statement.IsDBNull(2) ? null : statement.GetString(2),
                statement.GetString(3),
                statement.GetString(4),
                statement.GetInt64(5),
                statement.GetInt64(6));
            key = statement.GetInt64(7);
        }
        finally
        {
            statement.Reset();
        }

        if (record.Kind != ConversationKind.Direct)
        {
            return new ConversationLoad(record, null, null);
        }

        var members = new List<MemberRecord>(2);
        statement = _database.Prepared(connection, MembersByKeySql, KeyParameter);
        try
        {
            statement.Bind(0, key);
            while (statement.Read())
            {
                members.Add(SqliteRows.ReadMemberRow(statement));
            }
        }
        finally
        {
            statement.Reset();
        }

        var messages = new List<StoredMessage>();
        statement = _database.Prepared(connection, NewestByKeySql, ConversationKeyLimitParameters);
        try
        {
            statement.Bind(0, conversationId);
            statement.Bind(1, key);
            statement.Bind(2, newest);
            while (statement.Read())
            {
                messages.Add(SqliteRows.ReadMessageRow(statement));
            }
        }
        finally
        {
            statement.Reset();
        }

        messages.Reverse();
        return new ConversationLoad(record, members, messages);
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<MemberRecord>> GetMembersAsync(string conversationId, CancellationToken cancellationToken = default)
    {
        // A grain's activation reads the senders' read seqs: written first if pending (ADR 0028).
        await FlushIfPendingAsync(conversationId, cancellationToken).ConfigureAwait(false);
        var connection = await OpenReaderAsync(cancellationToken).ConfigureAwait(false);
        await using (connection.ConfigureAwait(false))
        {
            using var command = connection.CreateCommand();
            command.CommandText = "SELECT " + SqliteRows.MemberColumns + " FROM members WHERE conv_key = " + SqliteRows.ConvKey + " ORDER BY user_id;";
            command.Parameters.AddWithValue("$conv", conversationId);
            using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            var members = new List<MemberRecord>();
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                members.Add(SqliteRows.ReadMember(reader));
            }

            return members;
        }
    }

    /// <inheritdoc />
    public async Task<StoredMessage?> GetMessageAsync(string conversationId, long seq, CancellationToken cancellationToken = default)
    {
        var connection = await OpenReaderAsync(cancellationToken).ConfigureAwait(false);
        await using (connection.ConfigureAwait(false))
        {
            using var command = connection.CreateCommand();
            command.CommandText = "SELECT " + SqliteRows.MessageColumns + " FROM messages WHERE conv_key = " + SqliteRows.ConvKey + " AND seq = $seq;";
            command.Parameters.AddWithValue("$conv", conversationId);
            command.Parameters.AddWithValue("$seq", seq);
            return await ReadSingleMessageAsync(command, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <inheritdoc />
    public async Task<StoredMessage?> FindByClientMsgIdAsync(string conversationId, string senderId, string clientMsgId, CancellationToken cancellationToken = default)
    {
        var connection = await OpenReaderAsync(cancellationToken).ConfigureAwait(false);
        await using (connection.ConfigureAwait(false))
        {
            using var command = connection.CreateCommand();
            command.CommandText = "SELECT " + SqliteRows.MessageColumns + " FROM messages WHERE conv_key = " + SqliteRows.ConvKey + " AND sender_id = $sender AND client_msg_id = $cmid;";
            command.Parameters.AddWithValue("$conv", conversationId);
            command.Parameters.AddWithValue("$sender", senderId);
            command.Parameters.AddWithValue("$cmid", clientMsgId);
            return await ReadSingleMessageAsync(command, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<StoredMessage>> ReadMessagesAsync(string conversationId, long fromSeq, ReadDirection direction, int limit, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(limit);
        if (limit == 0)
        {
            return [];
        }

        var connection = await OpenReaderAsync(cancellationToken).ConfigureAwait(false);
        await using (connection.ConfigureAwait(false))
        {
            using var command = connection.CreateCommand();
            var backward = direction == ReadDirection.Backward;
            command.CommandText = backward
                ? "SELECT " + SqliteRows.MessageColumns + " FROM messages WHERE conv_key = " + SqliteRows.ConvKey + " AND seq <= $from ORDER BY seq DESC LIMIT $limit;"
                : "SELECT " + SqliteRows.MessageColumns + " FROM messages WHERE conv_key = " + SqliteRows.ConvKey + " AND seq >= $from ORDER BY seq LIMIT $limit;";
            command.Parameters.AddWithValue("$conv", conversationId);
            command.Parameters.AddWithValue("$from", backward && fromSeq <= 0 ? long.MaxValue : fromSeq);
            command.Parameters.AddWithValue("$limit", limit);
            var messages = await ReadMessageListAsync(command, cancellationToken).ConfigureAwait(false);
            if (backward)
            {
                messages.Reverse();
            }

            return messages;
        }
    }

    /// <inheritdoc />
    public Task<SyncSnapshot> GetChangesAsync(string userId, long sinceVersion, int maxMessagesPerConversation, CancellationToken cancellationToken = default) =>
        GetChangesCoreAsync(userId, sinceVersion, maxMessagesPerConversation, sink: null, cancellationToken);

    /// <inheritdoc />
    public Task<SyncSnapshot> GetChangesAsync(string userId, long sinceVersion, int maxMessagesPerConversation, ISyncRowSink sink, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(sink);
        return GetChangesCoreAsync(userId, sinceVersion, maxMessagesPerConversation, sink, cancellationToken);
    }

    private async Task<SyncSnapshot> GetChangesCoreAsync(string userId, long sinceVersion, int maxMessagesPerConversation, ISyncRowSink? sink, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(maxMessagesPerConversation);

        // Read-your-writes (ADR 0028): a sync right after one's own send sees it. What commits after this flush is in the
        // next sync: the version below is derived_through while anything is pending.
        await FlushIfPendingAsync(cancellationToken).ConfigureAwait(false);
        var connection = await OpenReaderAsync(cancellationToken).ConfigureAwait(false);
        await using (connection.ConfigureAwait(false))
        {
            // Runs on every connect (issue 17): a fixed number of statements whatever the number of changed conversations,
            // each prepared once per pooled connection. One deferred read transaction: every statement sees the same WAL
            // snapshot, so the version matches the changes.
            Step(_database.Prepared(connection, "BEGIN DEFERRED;", NoParameters));
            try
            {
                var snapshot = ReadChanges(connection, userId, sinceVersion, maxMessagesPerConversation, sink);
                Step(_database.Prepared(connection, "COMMIT;", NoParameters));
                return snapshot;
            }
            finally
            {
                if (SQLitePCL.raw.sqlite3_get_autocommit(connection.Handle) == 0)
                {
                    Step(_database.Prepared(connection, "ROLLBACK;", NoParameters));
                }
            }
        }
    }

    // With a sink, the messages go to it as the rows are read (ISyncRowSource) and the changes carry none.
    private SyncSnapshot ReadChanges(SqliteConnection connection, string userId, long sinceVersion, int maxMessagesPerConversation, ISyncRowSink? sink)
    {
        var version = _database.Prepared(connection, SyncVersionSql, NoParameters).ReadInt64OrZero();
        var views = new List<ConversationView>();
        var statement = _database.Prepared(connection, ChangedViewsSql, UserSinceParameters);
        try
        {
            statement.Bind(0, userId);
            statement.Bind(1, sinceVersion);
            while (statement.Read())
            {
                views.Add(SqliteRows.ReadViewRow(statement));
            }
        }
        finally
        {
            statement.Reset();
        }

        // A fresh sync (cursor 0) has every membership in ChangedViewsSql (a member row's feed version is the version
        // of the commit that wrote it, never 0), so the advanced super groups (feed_version <= cursor) are none.
        if (sinceVersion > 0)
        {
            List<string>? advanced = null;
            statement = _database.Prepared(connection, AdvancedSuperGroupsSql, UserSinceParameters);
            try
            {
                statement.Bind(0, userId);
                statement.Bind(1, sinceVersion);
                while (statement.Read())
                {
                    (advanced ??= []).Add(statement.GetString(0));
                }
            }
            finally
            {
                statement.Reset();
            }

            if (advanced is not null)
            {
                statement = _database.Prepared(connection, OneViewSql, UserConversationParameters);
                foreach (var id in advanced)
                {
                    try
                    {
                        statement.Bind(0, userId);
                        statement.Bind(1, id);
                        if (statement.Read())
                        {
                            views.Add(SqliteRows.ReadViewRow(statement));
                        }
                    }
                    finally
                    {
                        statement.Reset();
                    }
                }
            }
        }

        var messages = sink is null ? new List<StoredMessage>[views.Count] : null;
        var counts = sink is null ? null : new int[views.Count];
        if (views.Count > 0)
        {
            var ids = new string[views.Count];
            for (var i = 0; i < ids.Length; i++)
            {
                ids[i] = views[i].ConversationId;
            }

            statement = _database.Prepared(connection, sink is null ? ChangedMessagesSql : SinkMessagesSql, ChangedMessagesParameters);
            var senders = sink is null ? new SenderStrings() : null; // a sink gets the sender's bytes
            var idBytes = sink is null ? null : ConversationIdBytes.Rent(ids);
            try
            {
                statement.Bind(0, System.Text.Json.JsonSerializer.Serialize(ids, SqliteJsonContext.Default.StringArray));
                statement.Bind(1, sinceVersion);
                statement.Bind(2, maxMessagesPerConversation + 1L);
                statement.Bind(3, userId);
                statement.Bind(4, version); // nothing above the snapshot's version: its derived rows may not be written (ADR 0028)
                while (statement.Read())
                {
                    var index = statement.GetInt32(0);
                    if (sink is null)
                    {
                        (messages![index] ??= []).Add(ReadSyncMessageRow(statement, ids[index], senders!));
                    }
                    else
                    {
                        counts![index]++;
                        sink.Add(index, ReadSyncRow(statement, idBytes!.Get(index)));
                    }
                }
            }
            finally
            {
                statement.Reset();
                idBytes?.Return();
            }
        }

        var changes = new List<ConversationChange>(views.Count);
        if (counts is not null)
        {
            for (var i = 0; i < views.Count; i++)
            {
                changes.Add(new ConversationChange(views[i], [], counts[i] > maxMessagesPerConversation));
            }

            return new SyncSnapshot(version, changes);
        }

        for (var i = 0; i < views.Count; i++)
        {
            var list = messages![i] ?? [];
            list.Sort(static (a, b) => a.Seq.CompareTo(b.Seq));
            var truncated = list.Count > maxMessagesPerConversation;
            if (truncated)
            {
                list.RemoveAt(0); // the oldest of the window: it only tells that there is more
            }

            changes.Add(new ConversationChange(views[i], list, truncated));
        }

        return new SyncSnapshot(version, changes);
    }

    // A synced message row (columns 1.. as SqliteRows.MessageColumns): its conversation id is the view's (the row was joined on
    // it), its sender one of few per sync. Two strings per message less than SqliteRows.ReadMessageRow (issue 17: a fresh
    // login reads hundreds of rows).
    private static StoredMessage ReadSyncMessageRow(RawStatement row, string conversationId, SenderStrings senders) =>
        new(
            conversationId,
            row.GetInt64(2),
            row.GetString(3),
            senders.Get(row.GetUtf8(4)),
            row.GetString(5),
            row.GetInt64(6),
            row.GetInt32(7),
            row.IsDBNull(8) ? [] : row.GetBlob(8),
            row.GetInt64(9) != 0,
            row.GetInt64(10))
        {
            Annotations = row.IsDBNull(11) ? null : row.GetBlob(11),
            ReplyToSeq = row.GetInt64(12),
        };

    // The same row for a sink (ISyncRowSource), columns as SinkMessagesSql: spans over the statement's values, valid until the
    // next step; no string, no copy. The conversation id is the view's (the row was joined on it), encoded once per sync.
    private static SyncRow ReadSyncRow(RawStatement row, ReadOnlySpan<byte> conversationId) =>
        new()
        {
            ConversationId = conversationId,
            Seq = row.GetInt64(1),
            ServerMsgId = row.GetUtf8(2),
            SenderId = row.GetUtf8(3),
            ClientMsgId = row.GetUtf8(4),
            ServerTime = row.GetInt64(5),
            Content = row.GetBlobSpan(6),
            Revoked = row.GetInt64(7) != 0,
            Version = row.GetInt64(8),
            Annotations = row.GetBlobSpan(9),
        };

    /// <summary>A sync's conversation ids as UTF-8, one pooled buffer for all of them (a sink's rows name their conversation by index).</summary>
    private sealed class ConversationIdBytes
    {
        private byte[] _bytes = [];
        private int[] _starts = [];

        public static ConversationIdBytes Rent(string[] ids)
        {
            var total = 0;
            foreach (var id in ids)
            {
                total += System.Text.Encoding.UTF8.GetByteCount(id);
            }

            var result = new ConversationIdBytes
            {
                _bytes = System.Buffers.ArrayPool<byte>.Shared.Rent(Math.Max(total, 1)),
                _starts = System.Buffers.ArrayPool<int>.Shared.Rent(ids.Length + 1),
            };
            var pos = 0;
            for (var i = 0; i < ids.Length; i++)
            {
                result._starts[i] = pos;
                pos += System.Text.Encoding.UTF8.GetBytes(ids[i], result._bytes.AsSpan(pos));
            }

            result._starts[ids.Length] = pos;
            return result;
        }

        public ReadOnlySpan<byte> Get(int index) => _bytes.AsSpan(_starts[index], _starts[index + 1] - _starts[index]);

        public void Return()
        {
            System.Buffers.ArrayPool<byte>.Shared.Return(_bytes);
            System.Buffers.ArrayPool<int>.Shared.Return(_starts);
            _bytes = [];
            _starts = [];
        }
    }

    /// <summary>One string per distinct sender of a sync (up to 32 of them; more are read each time), matched by their UTF-8 bytes.</summary>
    private sealed class SenderStrings
    {
        private readonly byte[][] _utf8 = new byte[32][];
        private readonly string[] _strings = new string[32];
        private int _count;

        public string Get(ReadOnlySpan<byte> utf8)
        {
            for (var i = 0; i < _count; i++)
            {
                if (utf8.SequenceEqual(_utf8[i]))
                {
                    return _strings[i];
                }
            }

            var value = System.Text.Encoding.UTF8.GetString(utf8);
            if (_count < _utf8.Length)
            {
                _utf8[_count] = utf8.ToArray();
                _strings[_count++] = value;
            }

            return value;
        }
    }

    private static void Step(RawStatement statement)
    {
        try
        {
            statement.Read();
        }
        finally
        {
            statement.Reset();
        }
    }

    private static string Prefixed(string alias, string columns) =>
        alias + "." + columns.Replace(", ", ", " + alias + ".", StringComparison.Ordinal);

    /// <inheritdoc />
    public async Task<(IReadOnlyList<ConversationView> Page, int Total)> ListConversationsAsync(string userId, int offset, int limit, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(offset);
        ArgumentOutOfRangeException.ThrowIfNegative(limit);
        await FlushIfPendingAsync(cancellationToken).ConfigureAwait(false);
        var connection = await OpenReaderAsync(cancellationToken).ConfigureAwait(false);
        await using (connection.ConfigureAwait(false))
        {
            // The page and the total come from one snapshot.
            using var transaction = connection.BeginTransaction(deferred: true);
            int total;
            using (var count = connection.CreateCommand())
            {
                count.Transaction = transaction;
                count.CommandText = "SELECT COUNT(*) FROM members WHERE user_id = $user;";
                count.Parameters.AddWithValue("$user", userId);
                total = Convert.ToInt32(await count.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false), CultureInfo.InvariantCulture);
            }

            var page = new List<ConversationView>(Math.Min(limit, 256));
            if (limit > 0 && offset < total)
            {
                using var command = connection.CreateCommand();
                command.Transaction = transaction;
                command.CommandText = PageViewsSql;
                command.Parameters.AddWithValue("$user", userId);
                command.Parameters.AddWithValue("$limit", limit);
                command.Parameters.AddWithValue("$offset", offset);
                using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
                while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
                {
                    page.Add(SqliteRows.ReadView(reader));
                }
            }

            transaction.Commit();
            return (page, total);
        }
    }

    /// <inheritdoc />
    public async Task<long> GetUnreadTotalAsync(string userId, CancellationToken cancellationToken = default)
    {
        await FlushIfPendingAsync(cancellationToken).ConfigureAwait(false);
        var connection = await OpenReaderAsync(cancellationToken).ConfigureAwait(false);
        await using (connection.ConfigureAwait(false))
        {
            using var command = connection.CreateCommand();
            command.CommandText = """
                SELECT COALESCE(SUM(MAX(c.max_seq - m.read_seq, 0)), 0)
                FROM members m JOIN conversations c ON c.conv_key = m.conv_key
                WHERE m.user_id = $user AND m.active = 1 AND m.muted = 0;
                """;
            command.Parameters.AddWithValue("$user", userId);
            return Convert.ToInt64(await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false), CultureInfo.InvariantCulture);
        }
    }

    /// <inheritdoc />
    public async Task<ConversationView?> GetConversationViewAsync(string userId, string conversationId, CancellationToken cancellationToken = default)
    {
        await FlushIfPendingAsync(conversationId, cancellationToken).ConfigureAwait(false);
        var connection = await OpenReaderAsync(cancellationToken).ConfigureAwait(false);
        await using (connection.ConfigureAwait(false))
        {
            using var command = connection.CreateCommand();
            command.CommandText = OneViewSql;
            command.Parameters.AddWithValue("$user", userId);
            command.Parameters.AddWithValue("$conv", conversationId);
            using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            return await reader.ReadAsync(cancellationToken).ConfigureAwait(false) ? SqliteRows.ReadView(reader) : null;
        }
    }

    private const string MaxVersionSql = "SELECT max_version FROM feed_state WHERE id = 1;";

    // A sync's version (ADR 0028): through which version every derived row it read is written.
    private const string SyncVersionSql = "SELECT CASE WHEN pending IS NULL THEN max_version ELSE derived_through END FROM feed_state WHERE id = 1;";

    private static async Task<long> ReadMaxVersionAsync(SqliteConnection connection, SqliteTransaction? transaction, CancellationToken cancellationToken)
    {
        using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = MaxVersionSql;
        return Convert.ToInt64(await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false), CultureInfo.InvariantCulture);
    }

    private static async Task<StoredMessage?> ReadSingleMessageAsync(SqliteCommand command, CancellationToken cancellationToken)
    {
        using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        return await reader.ReadAsync(cancellationToken).ConfigureAwait(false) ? SqliteRows.ReadMessage(reader) : null;
    }

    private static async Task<List<StoredMessage>> ReadMessageListAsync(SqliteCommand command, CancellationToken cancellationToken)
    {
        var messages = new List<StoredMessage>();
        using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            messages.Add(SqliteRows.ReadMessage(reader));
        }

        return messages;
    }
}
