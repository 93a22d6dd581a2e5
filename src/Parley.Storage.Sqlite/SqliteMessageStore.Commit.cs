using Microsoft.Data.Sqlite;
using Parley.Abstractions.Messaging;
using Parley.Storage.Sqlite.Internal;

namespace Parley.Storage.Sqlite;

public sealed partial class SqliteMessageStore
{
    private const int SqliteConstraint = 19;
    private const int SqliteConstraintPrimaryKey = 1555;
    private const int SqliteConstraintUnique = 2067;

    /// <inheritdoc />
    public async Task CommitAsync(CommitBatch batch, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(batch);
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (batch.IsEmpty)
        {
            _database.ThrowIfNotReady();
            return;
        }

        try
        {
            var flushed = await _database.WriteAsync(
                (writer, ct) =>
                {
                    // The owner's writer connection is the same for the owner's life: prepare once, reuse per batch.
                    var commands = _commands ??= new WriterCommands(writer);
                    return Task.FromResult(Apply(commands, batch, ct));
                },
                cancellationToken).ConfigureAwait(false);

            // A flush of the derived rows rode on this commit (ADR 0028): what it covered is written now.
            if (flushed > 0)
            {
                PublishFlushed(flushed);
            }
        }
        catch (SqliteException ex) when (IsUniquenessViolation(ex))
        {
            LogCommitConflict(_logger, batch.Messages.Count, batch.Conversations.Count);
            throw new StoreConflictException("The batch violates a uniqueness rule (conversation, message seq or client message id); nothing was applied.", ex);
        }
        catch (Exception ex) when (ex is not OperationCanceledException and not InvalidOperationException and not ObjectDisposedException)
        {
            LogCommitFailed(_logger, ex, batch.Messages.Count, batch.Conversations.Count);
            throw;
        }
    }

    private static bool IsUniquenessViolation(SqliteException ex) =>
        ex.SqliteErrorCode == SqliteConstraint
        && ex.SqliteExtendedErrorCode is SqliteConstraintPrimaryKey or SqliteConstraintUnique;

    // Synchronous on purpose: Microsoft.Data.Sqlite's async methods run synchronously anyway, and the writer loop owns
    // this connection, so the Task per statement was pure overhead (~4 statements per message).
    // Returns the deferred count a flush of the derived rows in this write covered (ADR 0028), 0 when none ran.
    private long Apply(WriterCommands c, CommitBatch batch, CancellationToken ct)
    {
        ct.ThrowIfCancellationRequested();
        var maxVersion = 0L;
        var flushed = EnsureDerivedConsistent(c);

        // Conversation-wide effects are applied once per conversation, not once per message: what the batch's messages raise,
        // per conversation and per (conversation, sender), gathered first (issue 17, stop 43) so that a 1:1 conversation
        // this batch opens is inserted with those values at once instead of inserted and then raised by three statements.
        // Both kept by the writer's commands and cleared per batch: two new dictionaries per commit were about 0.4 KB
        // per message at one message per commit (issue 17).
        var touched = c.Touched;
        touched.Clear();
        var senders = c.Senders;
        senders.Clear();
        var opened = c.Opened;
        opened.Clear();
        foreach (var message in batch.Messages)
        {
            var key = (message.ConversationId, message.SenderId);
            senders[key] = senders.TryGetValue(key, out var readSeq) ? Math.Max(readSeq, message.Seq) : message.Seq;
            touched[message.ConversationId] = touched.TryGetValue(message.ConversationId, out var t)
                ? (Math.Max(t.MaxSeq, message.Seq), Math.Max(t.LastTime, message.ServerTime), Math.Max(t.MaxVersion, message.Version))
                : (message.Seq, message.ServerTime, message.Version);
        }

        foreach (var conversation in batch.Conversations)
        {
            // RawStatements (issue 17, stop 43): nearly every message of a random-pair load opens a conversation, and these
            // four statements through SqliteCommand were ~2 KB of its allocation (a binder and UTF-8 copies per parameter,
            // a reader and its statement enumerator per execution).
            // A 1:1 conversation opened with its first messages (write diffusion, as every 1:1 is) starts with the values the
            // raises below would give it: its seqs, time and head version, the sender's read seq, both members' feed version
            // (the raises take the MAX of these and the row's, and a new row's are 0, the creation time and its version).
            (long MaxSeq, long LastTime, long MaxVersion) raised = (0, conversation.CreatedAt, 0);
            var fold = conversation.Kind == ConversationKind.Direct
                && !batch.ReadDiffusion.Contains(conversation.ConversationId)
                && touched.TryGetValue(conversation.ConversationId, out raised)
                && opened.Add(conversation.ConversationId);
            if (!fold)
            {
                raised = (0, conversation.CreatedAt, 0);
            }

            var insert = c.InsertConversation;
            insert.Bind(0, conversation.ConversationId);
            insert.Bind(1, (int)conversation.Kind);
            insert.Bind(2, conversation.GroupId);
            insert.Bind(3, conversation.Name);
            insert.Bind(4, conversation.CreatorId);
            insert.Bind(5, conversation.CreatedAt);
            insert.Bind(6, conversation.Members.Count);
            insert.Bind(7, raised.MaxSeq);
            insert.Bind(8, Math.Max(conversation.CreatedAt, raised.LastTime));
            insert.Bind(9, raised.MaxVersion);
            insert.Execute();

            var m = c.InsertMember;
            foreach (var member in conversation.Members)
            {
                m.Bind(0, conversation.ConversationId);
                m.Bind(1, member);
                m.Bind(2, Math.Max(conversation.Version, raised.MaxVersion));
                m.Bind(3, fold && senders.TryGetValue((conversation.ConversationId, member), out var read) ? read : 0);
                m.Execute();
            }

            maxVersion = Math.Max(maxVersion, conversation.Version);
        }

        maxVersion = Math.Max(maxVersion, ApplyGroupChanges(c, batch));

        if (batch.Messages.Count > 0)
        {
            foreach (var message in batch.Messages)
            {
                // RawStatement: bound in place, nothing allocated per message (issue 17).
                var insert = c.InsertMessage;
                insert.Bind(0, message.ConversationId);
                insert.Bind(1, message.Seq);
                insert.Bind(2, message.ServerMsgId);
                insert.Bind(3, message.SenderId);
                insert.Bind(4, message.ClientMsgId);
                insert.Bind(5, message.ServerTime);
                insert.Bind(6, message.ContentKind);
                insert.Bind(7, message.Content);
                insert.Bind(8, message.Revoked ? 1 : 0);
                insert.Bind(9, message.Version);
                insert.Bind(10, message.Annotations);
                insert.Bind(11, message.ReplyToSeq);
                insert.Execute();
                if (message.HasSearchText)
                {
                    // Queued for the full-text index, not indexed here (ADR 0019): the FTS5 trigram insert per commit
                    // was about half of the 1:1 path's regression; the indexer moves queued rows in batches.
                    _queuedGeneration++;
                    if (_searchText is not null)
                    {
                        // In memory, in commit order (stop 36): no queue row, so no extra B-tree page in every commit.
                        // Should this write roll back, the indexer finds no such message row and skips the text.
                        // A text send read from its frame has its text as the content's UTF-8 bytes (ADR 0027): no string is made.
                        QueueInMemory(c, new PendingText(message.Version, message.ConversationId, message.Seq, message.SearchText, message.Content, message.SearchTextStart, message.SearchTextLength));
                    }
                    else
                    {
                        var search = c.InsertSearch;
                        search.Bind(0, message.Version);
                        BindSearchText(search, 1, message.SearchText, message.Content, message.SearchTextStart, message.SearchTextLength);
                        search.Bind(2, message.ConversationId);
                        search.Bind(3, message.Seq);
                        search.Execute();
                    }
                }

                ApplyMentions(c, message);
            }

            // The conversation-wide raises: one per conversation and one per (conversation, sender) per batch (none for a
            // conversation opened in this batch: its rows were inserted with these values). A sender has read their own
            // messages; read diffusion (ADR 0017) raises nothing per member, the head version tells resuming members.
            // ADR 0028: kept for the flush (the conversations recorded as pending), which with DerivedRowsFlushMs = 0 runs
            // at the end of this same commit, as the raises always did.
            foreach (var (_, t) in touched)
            {
                maxVersion = Math.Max(maxVersion, t.MaxVersion);
            }

            Defer(c, touched, senders, opened, batch);
        }

        foreach (var update in batch.MessageUpdates)
        {
            ApplyUpdate(c, update);
            maxVersion = Math.Max(maxVersion, update.Version);
        }

        foreach (var revocation in batch.Revocations)
        {
            var p = c.Revoke.Parameters;
            p[0].Value = revocation.ConversationId;
            p[1].Value = revocation.Seq;
            c.Revoke.ExecuteNonQuery();
        }

        foreach (var cursor in batch.ReadCursors)
        {
            var p = c.ReadCursor.Parameters;
            p[0].Value = cursor.ConversationId;
            p[1].Value = cursor.UserId;
            p[2].Value = cursor.ReadSeq;
            p[3].Value = cursor.Version;
            c.ReadCursor.ExecuteNonQuery();
            maxVersion = Math.Max(maxVersion, cursor.Version);
        }

        foreach (var setting in batch.Settings)
        {
            var p = c.Settings.Parameters;
            p[0].Value = setting.ConversationId;
            p[1].Value = setting.UserId;
            p[2].Value = setting.Pinned is { } pinned ? (pinned ? 1 : 0) : DBNull.Value;
            p[3].Value = setting.Muted is { } muted ? (muted ? 1 : 0) : DBNull.Value;
            p[4].Value = setting.Version;
            p[5].Value = setting.MentionsOnly is { } mentions ? (mentions ? 1 : 0) : DBNull.Value;
            c.Settings.ExecuteNonQuery();
            maxVersion = Math.Max(maxVersion, setting.Version);
        }

        if (FlushDue())
        {
            flushed = FlushDerived(c);
        }

        WriteFeedState(c, maxVersion);

        // The after-hook events of this commit, in its transaction (ADR 0012).
        if (batch.WebhookEvents.Count > 0)
        {
            Webhooks.SqliteWebhookOutbox.Insert(c.Connection, batch.WebhookEvents);
        }

        return flushed;
    }

    private static void ApplyMentions(WriterCommands c, StoredMessage message)
    {
        if (message.MentionAll)
        {
            var a = c.MentionAll.Parameters;
            a[0].Value = message.ConversationId;
            a[1].Value = message.Seq;
            c.MentionAll.ExecuteNonQuery();
        }

        // Indexed, not foreach: enumerating the IReadOnlyList (or the `?? []` fallback) allocated an enumerator per message.
        if (message.MentionedUserIds is not { Count: > 0 } users)
        {
            return;
        }

        for (var i = 0; i < users.Count; i++)
        {
            var m = c.MentionUser.Parameters;
            m[0].Value = message.ConversationId;
            m[1].Value = users[i];
            m[2].Value = message.Seq;
            c.MentionUser.ExecuteNonQuery();
        }
    }

    private static void ApplyUpdate(WriterCommands c, MessageUpdate update)
    {
        if (update.Previous is { } previous)
        {
            var r = c.InsertRevision.Parameters;
            r[0].Value = previous.ConversationId;
            r[1].Value = previous.Seq;
            r[2].Value = previous.Revision;
            r[3].Value = previous.Content;
            r[4].Value = previous.Time;
            c.InsertRevision.ExecuteNonQuery();
        }

        var p = c.UpdateMessage.Parameters;
        p[0].Value = update.ConversationId;
        p[1].Value = update.Seq;
        p[2].Value = update.Annotations;
        p[3].Value = (object?)update.Content ?? DBNull.Value;
        p[4].Value = update.Version;
        c.UpdateMessage.ExecuteNonQuery();

        if (update.SearchText is { } text)
        {
            var s = c.ReplaceSearch.Parameters;
            s[0].Value = update.ConversationId;
            s[1].Value = update.Seq;
            s[2].Value = text;
            c.ReplaceSearch.ExecuteNonQuery();
        }
    }

    private static long ApplyGroupChanges(WriterCommands c, CommitBatch batch)
    {
        var maxVersion = 0L;
        foreach (var g in batch.Groups)
        {
            var p = c.UpsertGroup.Parameters;
            p[0].Value = g.GroupId;
            p[1].Value = g.ConversationId;
            p[2].Value = g.Name;
            p[3].Value = g.AvatarUrl;
            p[4].Value = g.Introduction;
            p[5].Value = g.Announcement;
            p[6].Value = g.Ex;
            p[7].Value = g.OwnerId;
            p[8].Value = (int)g.JoinPolicy;
            p[9].Value = g.HistoryVisibleToNewMembers ? 1 : 0;
            p[10].Value = g.MuteAll ? 1 : 0;
            p[11].Value = g.Searchable ? 1 : 0;
            p[12].Value = g.Dismissed ? 1 : 0;
            p[13].Value = g.CreatedAt;
            p[14].Value = g.UpdatedAt;
            p[15].Value = g.Version;
            p[16].Value = (int)g.Kind;
            p[17].Value = (int)g.MemberNotices;
            c.ReadDiffusionOf.Parameters[0].Value = g.ConversationId;
            var wasReadDiffusion = c.ReadDiffusionOf.ExecuteScalar() is long flag && flag != 0;
            c.UpsertGroup.ExecuteNonQuery();

            // A super group's info change writes nothing per member: members' group lists find it through
            // ix_groups_super_info (GetGroupsDeltaAsync). A normal group raises its member rows as before.
            if (g.Kind == GroupKind.Normal)
            {
                var r = c.RaiseMembersInfo.Parameters;
                r[0].Value = g.ConversationId;
                r[1].Value = g.Version;
                c.RaiseMembersInfo.ExecuteNonQuery();
            }
            else if (!wasReadDiffusion)
            {
                c.MarkMembersReadDiffusion.Parameters[0].Value = g.ConversationId;
                c.MarkMembersReadDiffusion.ExecuteNonQuery();
            }
            maxVersion = Math.Max(maxVersion, g.Version);
        }

        foreach (var m in batch.MemberChanges)
        {
            var p = c.UpsertMember.Parameters;
            p[0].Value = m.ConversationId;
            p[1].Value = m.UserId;
            p[2].Value = (int)m.Role;
            p[3].Value = m.Nickname;
            p[4].Value = m.MutedUntil;
            p[5].Value = m.JoinedAt;
            p[6].Value = m.InviterId;
            p[7].Value = m.Active ? 1 : 0;
            p[8].Value = m.VisibleFrom;
            p[9].Value = m.VisibleTo;
            p[10].Value = m.Version;
            p[11].Value = m.ReadSeqFloor;
            c.UpsertMember.ExecuteNonQuery();
            maxVersion = Math.Max(maxVersion, m.Version);
        }

        foreach (var r in batch.GroupRequests)
        {
            var p = c.UpsertGroupRequest.Parameters;
            p[0].Value = r.GroupId;
            p[1].Value = r.UserId;
            p[2].Value = r.InviterId;
            p[3].Value = r.Kind;
            p[4].Value = r.Message;
            p[5].Value = r.State;
            p[6].Value = r.CreatedAt;
            p[7].Value = r.HandledAt;
            p[8].Value = r.HandlerId;
            c.UpsertGroupRequest.ExecuteNonQuery();
        }

        return maxVersion;
    }

    // The flush's derivation of a conversation's rows (see WriterCommands' DeriveConversation and DeriveSendersRead).
    internal static readonly string DeriveConversationSql = $"""
        UPDATE conversations SET
            max_seq = MAX(max_seq, COALESCE((SELECT MAX(m.seq) FROM messages m WHERE m.conv_key = $key), 0)),
            last_seq = MAX(last_seq, COALESCE((SELECT MAX(m.seq) FROM messages m WHERE m.conv_key = $key), 0)),
            updated_at = MAX(updated_at, COALESCE((SELECT m.server_time FROM messages m WHERE m.conv_key = $key ORDER BY m.seq DESC LIMIT 1), 0)),
            head_version = MAX(head_version, COALESCE((SELECT m.version FROM messages m WHERE m.conv_key = $key ORDER BY m.seq DESC LIMIT 1), 0),
                COALESCE((SELECT MAX(n.version) FROM messages n INDEXED BY ix_messages_changed WHERE n.conv_key = $key AND {SqliteVersionIndex.Changed("n")}), 0))
        WHERE conv_key = $key;
        """;

    internal static readonly string DeriveSendersReadSql = $"""
        UPDATE members SET read_seq = MAX(read_seq,
            COALESCE((SELECT m.seq FROM messages m WHERE m.conv_key = $key AND m.seq >= {SqliteVersionIndex.FirstNewSeqBound("$key", "$through")}
                      AND m.version > $through AND m.sender_id = members.user_id ORDER BY m.seq DESC LIMIT 1), 0),
            COALESCE((SELECT MAX(n.seq) FROM messages n INDEXED BY ix_messages_changed WHERE n.conv_key = $key AND {SqliteVersionIndex.Changed("n")}
                      AND n.version > $through AND n.sender_id = members.user_id), 0))
        WHERE conv_key = $key;
        """;

    /// <summary>The writer's prepared statements, created once and reused by every batch with new parameter values.</summary>
    private sealed class WriterCommands : IDisposable
    {
        // Members (migration 26) and messages (migration 30) name their conversation by its integer key, the rowid of its
        // conversations row (allocated by the row's insert): resolved once per statement by the unique index on the text id.
        private const string ConvKey = SqliteRows.ConvKey;

        public WriterCommands(SqliteConnection connection)
        {
            Connection = connection;
            InsertConversation = new RawStatement(
                connection,
                """
                INSERT INTO conversations (conversation_id, kind, group_id, name, creator_id, created_at, max_seq, last_seq, updated_at, member_count, head_version)
                VALUES ($id, $kind, $group, $name, $creator, $created, $maxseq, $maxseq, $updated, $members, $head);
                """,
                "$id", "$kind", "$group", "$name", "$creator", "$created", "$members", "$maxseq", "$updated", "$head");
            InsertMember = new RawStatement(
                connection,
                "INSERT INTO members (conv_key, user_id, read_seq, pinned, muted, feed_version) VALUES (" + ConvKey + ", $user, $read, 0, 0, $version);",
                "$conv", "$user", "$version", "$read");
            InsertMessage = new RawStatement(
                connection,
                $"""
                INSERT INTO messages (conv_key, seq, server_msg_id, sender_id, client_msg_id, server_time, content_kind, content, revoked, version,
                                      annotations, reply_to_seq, search_id)
                VALUES ({ConvKey}, $seq, $smid, $sender, $cmid, $time, $kind, $content, $revoked, $version, $annotations, $replyto, $version);
                """,
                "$conv", "$seq", "$smid", "$sender", "$cmid", "$time", "$kind", "$content", "$revoked", "$version", "$annotations", "$replyto");
            InsertSearch = new RawStatement(
                connection,
                "INSERT INTO search_pending (search_id, body, conversation_id, seq) VALUES ($id, $body, $conv, $seq);",
                "$id", "$body", "$conv", "$seq");

            // An edit replaces the indexed text at once (edits are rare): a still queued text is dropped from the queue,
            // so the indexer can never index it after the edit; a message first indexed now (its old text was empty) gets its row.
            ReplaceSearch = Create(
                connection,
                $"""
                DELETE FROM search_pending WHERE search_id = (SELECT search_id FROM messages WHERE conv_key = {ConvKey} AND seq = $seq);
                DELETE FROM message_search WHERE rowid = (SELECT search_id FROM messages WHERE conv_key = {ConvKey} AND seq = $seq);
                INSERT INTO message_search (rowid, body, conv, conversation_id, seq)
                SELECT search_id, $body, parley_search_key($conv), $conv, seq FROM messages
                WHERE conv_key = {ConvKey} AND seq = $seq AND $body <> '' AND revoked = 0;
                """,
                "$conv", "$seq", "$body");
            UpdateMessage = Create(
                connection,
                $"""
                UPDATE messages SET annotations = $annotations, content = COALESCE($content, content), version = MAX(version, $version)
                WHERE conv_key = {ConvKey} AND seq = $seq;
                UPDATE conversations SET change_version = MAX(change_version, $version) WHERE conversation_id = $conv;
                """,
                "$conv", "$seq", "$annotations", "$content", "$version");
            InsertRevision = Create(
                connection,
                "INSERT INTO message_revisions (conversation_id, seq, revision, content, time) VALUES ($conv, $seq, $rev, $content, $time);",
                "$conv", "$seq", "$rev", "$content", "$time");
            MentionUser = Create(
                connection,
                "UPDATE members SET mention_seq = MAX(mention_seq, $seq) WHERE conv_key = " + ConvKey + " AND user_id = $user;",
                "$conv", "$user", "$seq");
            MentionAll = Create(
                connection,
                "UPDATE conversations SET mention_all_seq = MAX(mention_all_seq, $seq) WHERE conversation_id = $conv;",
                "$conv", "$seq");
            Revoke = Create(
                connection,
                $"""
                DELETE FROM search_pending WHERE search_id = (SELECT search_id FROM messages WHERE conv_key = {ConvKey} AND seq = $seq);
                DELETE FROM message_search WHERE rowid = (SELECT search_id FROM messages WHERE conv_key = {ConvKey} AND seq = $seq);
                DELETE FROM message_revisions WHERE conversation_id = $conv AND seq = $seq;
                UPDATE messages SET revoked = 1, content = x'' WHERE conv_key = {ConvKey} AND seq = $seq;
                """,
                "$conv", "$seq");
            ReadCursor = Create(
                connection,
                "UPDATE members SET read_seq = MAX(read_seq, $seq), feed_version = MAX(feed_version, $version) WHERE conv_key = " + ConvKey + " AND user_id = $user;",
                "$conv", "$user", "$seq", "$version");
            Settings = Create(
                connection,
                """
                UPDATE members SET pinned = COALESCE($pinned, pinned), muted = COALESCE($muted, muted),
                    mentions_only = COALESCE($mentions, mentions_only), feed_version = MAX(feed_version, $version)
                WHERE conv_key = (SELECT conv_key FROM conversations WHERE conversation_id = $conv) AND user_id = $user;
                """,
                "$conv", "$user", "$pinned", "$muted", "$version", "$mentions");
            PendingSearchBatch = Create(
                connection,
                "SELECT MAX(search_id), COUNT(*) FROM (SELECT search_id FROM search_pending ORDER BY search_id LIMIT $limit);",
                "$limit");
            IndexPendingSearch = Create(
                connection,
                """
                INSERT INTO message_search (rowid, body, conv, conversation_id, seq)
                SELECT search_id, body, parley_search_key(conversation_id), conversation_id, seq FROM search_pending WHERE search_id <= $through ORDER BY search_id;
                DELETE FROM search_pending WHERE search_id <= $through;
                """,
                "$through");
            // The memory queue's texts (stop 36): a batch is staged in a temporary table (the writer's temp database: no
            // WAL, no fsync), then moved in ONE statement, indexed only while the message row is as committed (see
            // SearchQueue.cs). One statement because FTS5 flushes its pending index data at every statement's savepoint:
            // a statement per text wrote a segment per text. "Not indexed yet" is asked of FTS5's content table (a plain
            // rowid B-tree); a later copy of one message's text replaces an earlier one in the batch.
            using (var temp = connection.CreateCommand())
            {
                temp.CommandText = """
                    CREATE TEMP TABLE IF NOT EXISTS search_batch (
                        search_id INTEGER PRIMARY KEY, body TEXT NOT NULL, conv TEXT NOT NULL, conversation_id TEXT NOT NULL,
                        seq INTEGER NOT NULL, content BLOB NOT NULL);
                    """;
                temp.ExecuteNonQuery();
            }

            StageQueuedText = new RawStatement(
                connection,
                "INSERT OR REPLACE INTO temp.search_batch (search_id, body, conv, conversation_id, seq, content) VALUES ($id, $body, $key, $conv, $seq, $content);",
                "$id", "$body", "$key", "$conv", "$seq", "$content");
            IndexQueuedText = new RawStatement(
                connection,
                """
                INSERT INTO message_search (rowid, body, conv, conversation_id, seq)
                SELECT b.search_id, b.body, b.conv, b.conversation_id, b.seq FROM temp.search_batch b
                JOIN messages m ON m.conv_key = (SELECT k.conv_key FROM conversations k WHERE k.conversation_id = b.conversation_id) AND m.seq = b.seq
                WHERE m.search_id = b.search_id AND m.revoked = 0 AND m.content = b.content
                  AND NOT EXISTS (SELECT 1 FROM message_search_content c WHERE c.id = b.search_id)
                ORDER BY b.search_id;
                """);
            ClearQueuedTexts = new RawStatement(connection, "DELETE FROM temp.search_batch;");
            IndexRecoveredText = new RawStatement(
                connection,
                "INSERT INTO message_search (rowid, body, conv, conversation_id, seq) VALUES ($id, $body, $key, $conv, $seq);",
                "$id", "$body", "$key", "$conv", "$seq");
            ReadSearchMark = new RawStatement(connection, "SELECT indexed_through FROM search_state WHERE id = 1;");
            ReadMaxVersion = new RawStatement(connection, "SELECT max_version FROM feed_state WHERE id = 1;");
            SetSearchMark = new RawStatement(
                connection,
                "UPDATE search_state SET indexed_through = $mark WHERE id = 1 AND indexed_through < $mark;",
                "$mark");
            // ADR 0028: derived_through is the version through which every derived row is written: max_version once nothing
            // is pending, the version before the first commit that left something pending, unchanged while more is.
            RaiseFeedState = new RawStatement(
                connection,
                """
                UPDATE feed_state SET max_version = MAX(max_version, $version),
                    derived_through = CASE WHEN $pending IS NULL THEN MAX(max_version, $version) WHEN pending IS NULL THEN max_version ELSE derived_through END,
                    pending = $pending
                WHERE id = 1;
                """,
                "$version", "$pending");
            ReadFeedState = new RawStatement(connection, "SELECT derived_through, pending FROM feed_state WHERE id = 1;");
            ConvKeyOf = new RawStatement(connection, "SELECT conv_key FROM conversations WHERE conversation_id = $conv;", "$conv");
            RaiseSenderReadSeqByKey = new RawStatement(
                connection,
                "UPDATE members SET read_seq = MAX(read_seq, $seq) WHERE conv_key = $key AND user_id = $user;",
                "$key", "$user", "$seq");
            RaiseConversationByKey = new RawStatement(
                connection,
                """
                UPDATE conversations SET max_seq = MAX(max_seq, $seq), last_seq = MAX(last_seq, $seq), updated_at = MAX(updated_at, $time),
                    head_version = MAX(head_version, $version)
                WHERE conv_key = $key;
                """,
                "$key", "$seq", "$time", "$version");
            RaiseAllMembersFeedByKey = new RawStatement(
                connection,
                "UPDATE members SET feed_version = MAX(feed_version, $version) WHERE conv_key = $key AND active = 1;",
                "$key", "$version");

            // The start's (and a rolled-back write's) derivation from the messages themselves: the last seq and its time
            // (one seek of the primary key), the last version (ADR 0034: the last row's, or a changed row's through
            // ix_messages_changed: an unchanged row's version is its search id, at most the last row's), every active member's
            // feed version (write diffusion only), each sender's read seq from their messages above derived_through.
            DeriveConversation = new RawStatement(connection, DeriveConversationSql, "$key");
            DeriveMembersFeed = new RawStatement(
                connection,
                """
                UPDATE members SET feed_version = MAX(feed_version, (SELECT c.head_version FROM conversations c WHERE c.conv_key = $key))
                WHERE conv_key = $key AND active = 1 AND (SELECT c.read_diffusion FROM conversations c WHERE c.conv_key = $key) = 0;
                """,
                "$key");
            // ADR 0034: a sender's messages above $through are its changed ones (ix_messages_changed) and those first
            // committed after it, the end of the key range: a walk newest first that stops at the sender's newest or at the
            // anchor below the first of them.
            DeriveSendersRead = new RawStatement(connection, DeriveSendersReadSql, "$key", "$through");
            UpsertGroup = Create(
                connection,
                """
                INSERT INTO groups (group_id, conversation_id, name, avatar_url, introduction, announcement, ex, owner_id, join_policy,
                                    history_visible, mute_all, searchable, dismissed, created_at, updated_at, info_version, kind, member_notices)
                VALUES ($id, $conv, $name, $avatar, $intro, $ann, $ex, $owner, $policy, $history, $muteall, $searchable, $dismissed, $created, $updated, $version, $kind,
                        $notices)
                ON CONFLICT (group_id) DO UPDATE SET name = $name, avatar_url = $avatar, introduction = $intro, announcement = $ann, ex = $ex,
                    owner_id = $owner, join_policy = $policy, history_visible = $history, mute_all = $muteall, searchable = $searchable,
                    dismissed = $dismissed, updated_at = $updated, info_version = MAX(info_version, $version), kind = $kind,
                    member_notices = $notices;
                UPDATE conversations SET name = $name, read_diffusion = ($kind <> 0) WHERE conversation_id = $conv;
                """,
                "$id", "$conv", "$name", "$avatar", "$intro", "$ann", "$ex", "$owner", "$policy", "$history", "$muteall", "$searchable",
                "$dismissed", "$created", "$updated", "$version", "$kind", "$notices");
            ReadDiffusionOf = Create(
                connection,
                "SELECT read_diffusion FROM conversations WHERE conversation_id = $conv;",
                "$conv");

            // A write-diffusion group's info change reaches its members' group lists through their rows.
            RaiseMembersInfo = Create(
                connection,
                "UPDATE members SET info_version = MAX(info_version, $version) WHERE conv_key = " + ConvKey + ";",
                "$conv", "$version");

            // Creation or promotion of a super group: its rows leave the write-diffusion indexes (migration 17), once.
            MarkMembersReadDiffusion = Create(
                connection,
                "UPDATE members SET read_diffusion = 1 WHERE conv_key = " + ConvKey + " AND read_diffusion = 0;",
                "$conv");
            UpsertMember = Create(
                connection,
                """
                UPDATE conversations SET member_count = member_count + $active
                    - COALESCE((SELECT active FROM members WHERE conv_key = (SELECT conv_key FROM conversations WHERE conversation_id = $conv) AND user_id = $user), 0)
                WHERE conversation_id = $conv;
                INSERT INTO member_inviters (user_id) SELECT $inviter WHERE $inviter <> '' ON CONFLICT (user_id) DO NOTHING;
                INSERT INTO members (conv_key, user_id, read_seq, pinned, muted, feed_version, role, nickname, muted_until, joined_at,
                                     inviter_id, inviter_key, active, visible_from, info_version, read_diffusion)
                VALUES ((SELECT conv_key FROM conversations WHERE conversation_id = $conv), $user, MAX($readfloor, 0), 0, 0, $version, $role, $nick, $muteduntil, $joined, '',
                        COALESCE((SELECT inviter_key FROM member_inviters WHERE user_id = $inviter), 0), $active, $from, $version,
                        COALESCE((SELECT read_diffusion FROM conversations WHERE conversation_id = $conv), 0))
                ON CONFLICT (conv_key, user_id) DO UPDATE SET role = $role, nickname = $nick, muted_until = $muteduntil, joined_at = $joined,
                    inviter_id = '', inviter_key = excluded.inviter_key, active = $active, visible_from = $from, read_seq = MAX(read_seq, $readfloor),
                    feed_version = MAX(feed_version, $version), info_version = MAX(info_version, $version);
                INSERT INTO member_periods (conversation_id, user_id, from_seq, to_seq)
                SELECT $conv, $user, $from, $to WHERE $active = 0 AND $to > 0
                ON CONFLICT (conversation_id, user_id, from_seq) DO UPDATE SET to_seq = $to;
                """,
                "$conv", "$user", "$role", "$nick", "$muteduntil", "$joined", "$inviter", "$active", "$from", "$to", "$version", "$readfloor");
            UpsertGroupRequest = Create(
                connection,
                """
                INSERT INTO group_requests (group_id, user_id, inviter_id, kind, message, state, created_at, handled_at, handler_id)
                VALUES ($group, $user, $inviter, $kind, $message, $state, $created, $handled, $handler)
                ON CONFLICT (group_id, user_id) DO UPDATE SET inviter_id = $inviter, kind = $kind, message = $message, state = $state,
                    created_at = $created, handled_at = $handled, handler_id = $handler;
                """,
                "$group", "$user", "$inviter", "$kind", "$message", "$state", "$created", "$handled", "$handler");
        }

        public SqliteCommand UpsertGroup { get; }

        public SqliteCommand UpsertMember { get; }

        public SqliteCommand ReadDiffusionOf { get; }

        public SqliteCommand RaiseMembersInfo { get; }

        public SqliteCommand MarkMembersReadDiffusion { get; }

        public SqliteCommand UpsertGroupRequest { get; }

        public RawStatement InsertConversation { get; }

        public RawStatement InsertMember { get; }

        public RawStatement InsertMessage { get; }

        public SqliteCommand Revoke { get; }

        public RawStatement InsertSearch { get; }

        public SqliteCommand ReplaceSearch { get; }

        public SqliteCommand UpdateMessage { get; }

        public SqliteCommand InsertRevision { get; }

        public SqliteCommand MentionUser { get; }

        public SqliteCommand MentionAll { get; }

        public SqliteCommand ReadCursor { get; }

        public SqliteCommand Settings { get; }

        public RawStatement RaiseFeedState { get; }

        public RawStatement ReadFeedState { get; }

        public RawStatement ConvKeyOf { get; }

        public RawStatement RaiseSenderReadSeqByKey { get; }

        public RawStatement RaiseConversationByKey { get; }

        public RawStatement RaiseAllMembersFeedByKey { get; }

        public RawStatement DeriveConversation { get; }

        public RawStatement DeriveMembersFeed { get; }

        public RawStatement DeriveSendersRead { get; }

        public RawStatement StageQueuedText { get; }

        public RawStatement IndexQueuedText { get; }

        public RawStatement ClearQueuedTexts { get; }

        public RawStatement IndexRecoveredText { get; }

        public RawStatement ReadSearchMark { get; }

        public RawStatement ReadMaxVersion { get; }

        public RawStatement SetSearchMark { get; }

        public SqliteCommand PendingSearchBatch { get; }

        public SqliteCommand IndexPendingSearch { get; }

        public SqliteConnection Connection { get; }

        public Dictionary<string, (long MaxSeq, long LastTime, long MaxVersion)> Touched { get; } = new(StringComparer.Ordinal);

        public Dictionary<(string Conversation, string Sender), long> Senders { get; } = [];

        /// <summary>The 1:1 conversations the batch opens, inserted with their messages' raises already applied.</summary>
        public HashSet<string> Opened { get; } = new(StringComparer.Ordinal);

        private IEnumerable<RawStatement> AllRaw =>
            [InsertConversation, InsertMember, InsertMessage, InsertSearch, RaiseFeedState, ReadFeedState, ConvKeyOf, RaiseSenderReadSeqByKey, RaiseConversationByKey, RaiseAllMembersFeedByKey, DeriveConversation, DeriveMembersFeed, DeriveSendersRead, StageQueuedText, IndexQueuedText, ClearQueuedTexts, IndexRecoveredText, ReadSearchMark, ReadMaxVersion, SetSearchMark];

        private IEnumerable<SqliteCommand> All =>
        [
            Revoke, ReplaceSearch, UpdateMessage, InsertRevision, MentionUser, MentionAll, ReadCursor, Settings, PendingSearchBatch, IndexPendingSearch, UpsertGroup, ReadDiffusionOf, RaiseMembersInfo, MarkMembersReadDiffusion, UpsertMember, UpsertGroupRequest,
        ];

        public void Dispose()
        {
            foreach (var command in All)
            {
                command.Dispose();
            }

            foreach (var statement in AllRaw)
            {
                statement.Dispose();
            }
        }

        private static SqliteCommand Create(SqliteConnection connection, string sql, params string[] parameterNames)
        {
            var command = connection.CreateCommand();
            command.CommandText = sql;
            foreach (var name in parameterNames)
            {
                command.Parameters.Add(new SqliteParameter(name, DBNull.Value));
            }

            command.Prepare();
            return command;
        }
    }
}
