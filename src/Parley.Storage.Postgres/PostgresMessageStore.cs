using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;
using NpgsqlTypes;
using Parley.Abstractions.Messaging;
using static Parley.Storage.Postgres.Internal.PostgresRows;

namespace Parley.Storage.Postgres;

/// <summary>
/// <see cref="IMessageStore"/> and <see cref="IGroupStore"/> on PostgreSQL: a view over the <see cref="PostgresDatabase"/>.
/// A commit batch from the group-commit pipeline is ONE <see cref="NpgsqlBatch"/>: one round trip and one implicit
/// transaction (all or nothing), with the messages, the senders' read cursors, the conversations' max seqs and the
/// members' feed versions each written by one multi-row statement (<c>unnest</c> of arrays), whatever the batch size.
/// Reads that must agree with each other run in one REPEATABLE READ snapshot.
/// </summary>
public sealed partial class PostgresMessageStore : IMessageStore, IGroupStore, IOrderedCommitStore, IFeedChangeQuery, ISearchIndexQueue
{
    private readonly PostgresDatabase _database;
    private readonly ILogger _logger;

    public PostgresMessageStore(PostgresDatabase database, ILogger<PostgresMessageStore>? logger = null)
    {
        ArgumentNullException.ThrowIfNull(database);
        _database = database;
        _logger = logger ?? (ILogger)NullLogger.Instance;
    }

    /// <summary>Initialises the owner (idempotent: the server has usually done it already at start-up).</summary>
    public Task InitializeAsync(CancellationToken cancellationToken = default) => _database.InitializeAsync(cancellationToken);

    /// <inheritdoc />
    public async Task CommitAsync(CommitBatch batch, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(batch);
        _database.ThrowIfNotReady();
        if (batch.IsEmpty)
        {
            return;
        }

        var connection = await _database.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using (connection.ConfigureAwait(false))
        {
            await ExecuteAsync(connection, null, batch, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// The order lock of <see cref="IOrderedCommitStore"/> is the row lock on <c>feed_state</c>: the reservation raises
    /// <c>max_version</c> by the count in the commit's own transaction, so a second writer's reservation waits until this
    /// transaction ends, and a snapshot sees a reservation only together with the rows written under it.
    /// </summary>
    public async Task<IOrderedCommit> BeginAsync(int count, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(count);
        _database.ThrowIfNotReady();
        var connection = await _database.OpenAsync(cancellationToken).ConfigureAwait(false);
        NpgsqlTransaction? transaction = null;
        try
        {
            transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
            using var command = Command(connection, "UPDATE feed_state SET max_version = max_version + $1 WHERE id = 1 RETURNING max_version;", P((long)count));
            command.Transaction = transaction;
            var last = (long)(await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false))!;
            return new OrderedCommit(this, connection, transaction, last - count + 1);
        }
        catch
        {
            if (transaction is not null)
            {
                await transaction.DisposeAsync().ConfigureAwait(false);
            }

            await connection.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    private async Task ExecuteAsync(NpgsqlConnection connection, NpgsqlTransaction? transaction, CommitBatch batch, CancellationToken cancellationToken)
    {
        using var npgsqlBatch = new NpgsqlBatch(connection, transaction);
        Build(npgsqlBatch, batch, _database.Options.MemberImportPages);
        try
        {
            await npgsqlBatch.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            if (transaction is not null)
            {
                await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
            }

            if (_database.Options.CompactMemberPagesAfterCommit)
            {
                await CompactAfterCommitAsync(batch, cancellationToken).ConfigureAwait(false);
            }
        }
        catch (PostgresException ex) when (PostgresDatabase.IsUniquenessViolation(ex))
        {
            LogCommitConflict(_logger, batch.Messages.Count, batch.Conversations.Count);
            throw new StoreConflictException("The batch violates a uniqueness rule (conversation, message seq or client message id); nothing was applied.", ex);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            LogCommitFailed(_logger, ex, batch.Messages.Count, batch.Conversations.Count);
            throw;
        }
    }

    private sealed class OrderedCommit(PostgresMessageStore store, NpgsqlConnection connection, NpgsqlTransaction transaction, long firstVersion) : IOrderedCommit
    {
        private bool _done;

        public long FirstVersion { get; } = firstVersion;

        public async Task CommitAsync(CommitBatch batch, CancellationToken cancellationToken = default)
        {
            ArgumentNullException.ThrowIfNull(batch);
            ObjectDisposedException.ThrowIf(_done, this);
            _done = true;
            await store.ExecuteAsync(connection, transaction, batch, cancellationToken).ConfigureAwait(false);
        }

        public async ValueTask DisposeAsync()
        {
            _done = true;
            await transaction.DisposeAsync().ConfigureAwait(false); // rolls back when not committed
            await connection.DisposeAsync().ConfigureAwait(false);
        }
    }

    /// <summary>
    /// The member changes of a batch. Several changes of distinct members (a bulk job's chunk of 1,000, a group's
    /// creation) are three set-based statements, whatever their number: the member counts, the rows (an upsert from
    /// arrays) and the closed periods. That is what the per-member statements did in order, because each member's
    /// count read and upsert touch only that member's row. A batch that names a member twice keeps the statements per
    /// member, in order. Returns the highest version.
    /// </summary>
    private static long AddMemberChanges(NpgsqlBatch b, List<MemberChange> changes, int importPages)
    {
        var maxVersion = 0L;
        var distinct = changes.Count > 1 && changes.Select(m => (m.ConversationId, m.UserId)).Distinct().Count() == changes.Count;
        if (distinct)
        {
            var conversations = changes.Select(m => m.ConversationId).ToArray();
            var users = changes.Select(m => m.UserId).ToArray();

            // The count moves by the change of each row's active flag, read before the rows change (as per member).
            b.BatchCommands.Add(BatchCommand(
                """
                UPDATE conversations SET member_count = member_count + d.delta
                FROM (SELECT u.conversation_id,
                             SUM((CASE WHEN u.active THEN 1 ELSE 0 END)
                                 - COALESCE((SELECT CASE WHEN m.active THEN 1 ELSE 0 END FROM members m
                                             WHERE m.conv_key = (SELECT conv_key FROM conversation_keys WHERE conversation_id = u.conversation_id) AND m.user_id = u.user_id), 0)) AS delta
                      FROM unnest($1::text[], $2::text[], $3::boolean[]) AS u(conversation_id, user_id, active)
                      GROUP BY u.conversation_id) d
                WHERE conversations.conversation_id = d.conversation_id;
                """,
                P(conversations), P(users), P(changes.Select(m => m.Active).ToArray())));

            // New members of a super group straight into its pages when the commit can (migration 28); the upsert then
            // skips them (a member with a slot and no row after member_unpack is one written by this statement).
            if (importPages > 0)
            {
                b.BatchCommands.Add(BatchCommand(
                    "SELECT member_import_pages($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12);",
                    P(conversations), P(users), P(changes.Select(m => (int)m.Role).ToArray()), P(changes.Select(m => m.Nickname).ToArray()),
                    P(changes.Select(m => m.MutedUntil).ToArray()), P(changes.Select(m => m.JoinedAt).ToArray()), P(changes.Select(m => m.InviterId).ToArray()),
                    P(changes.Select(m => m.Active).ToArray()), P(changes.Select(m => m.VisibleFrom).ToArray()), P(changes.Select(m => m.Version).ToArray()),
                    P(changes.Select(m => m.ReadSeqFloor).ToArray()), P(importPages)));
            }

            b.BatchCommands.Add(BatchCommand(
                """
                INSERT INTO members (conv_key, user_id, read_seq, feed_version, role, nickname, muted_until, joined_at, inviter_id,
                                     active, visible_from, info_version, read_diffusion)
                SELECT (SELECT conv_key FROM conversation_keys WHERE conversation_id = u.conversation_id), u.user_id, GREATEST(u.read_floor, 0), u.version,
                       u.role, u.nickname, u.muted_until, u.joined_at, u.inviter_id, u.active, u.visible_from, u.version,
                       COALESCE((SELECT read_diffusion FROM conversations WHERE conversation_id = u.conversation_id), false)
                FROM unnest($1::text[], $2::text[], $3::integer[], $4::text[], $5::bigint[], $6::bigint[], $7::text[], $8::boolean[], $9::bigint[], $10::bigint[], $11::bigint[])
                    AS u(conversation_id, user_id, role, nickname, muted_until, joined_at, inviter_id, active, visible_from, version, read_floor)
                """ + (importPages > 0
                    ? """

                WHERE NOT EXISTS (SELECT 1 FROM conversation_keys ck CROSS JOIN LATERAL member_slot(ck.conv_key, u.user_id) s
                                  WHERE ck.conversation_id = u.conversation_id
                                    AND NOT EXISTS (SELECT 1 FROM members r WHERE r.conv_key = ck.conv_key AND r.user_id = u.user_id))
                """
                    : "\n") + """
                ON CONFLICT (conv_key, user_id) DO UPDATE SET role = EXCLUDED.role, nickname = EXCLUDED.nickname, muted_until = EXCLUDED.muted_until,
                    joined_at = EXCLUDED.joined_at, inviter_id = EXCLUDED.inviter_id, active = EXCLUDED.active, visible_from = EXCLUDED.visible_from,
                    read_seq = GREATEST(members.read_seq, EXCLUDED.read_seq), feed_version = GREATEST(members.feed_version, EXCLUDED.feed_version),
                    info_version = GREATEST(members.info_version, EXCLUDED.info_version);
                """,
                P(conversations), P(users), P(changes.Select(m => (int)m.Role).ToArray()), P(changes.Select(m => m.Nickname).ToArray()),
                P(changes.Select(m => m.MutedUntil).ToArray()), P(changes.Select(m => m.JoinedAt).ToArray()), P(changes.Select(m => m.InviterId).ToArray()),
                P(changes.Select(m => m.Active).ToArray()), P(changes.Select(m => m.VisibleFrom).ToArray()), P(changes.Select(m => m.Version).ToArray()),
                P(changes.Select(m => m.ReadSeqFloor).ToArray())));
            var closed = changes.Where(m => !m.Active && m.VisibleTo > 0).ToList();
            if (closed.Count > 0)
            {
                b.BatchCommands.Add(BatchCommand(
                    """
                    INSERT INTO member_periods (conversation_id, user_id, from_seq, to_seq)
                    SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[], $4::bigint[])
                    ON CONFLICT (conversation_id, user_id, from_seq) DO UPDATE SET to_seq = EXCLUDED.to_seq;
                    """,
                    P(closed.Select(m => m.ConversationId).ToArray()), P(closed.Select(m => m.UserId).ToArray()),
                    P(closed.Select(m => m.VisibleFrom).ToArray()), P(closed.Select(m => m.VisibleTo).ToArray())));
            }

            return changes.Max(m => m.Version);
        }

        foreach (var m in changes)
        {
            // The count moves by the change of this row's active flag (a recount would read every member of a large group).
            b.BatchCommands.Add(BatchCommand(
                """
                UPDATE conversations SET member_count = member_count + (CASE WHEN $3 THEN 1 ELSE 0 END)
                    - COALESCE((SELECT CASE WHEN active THEN 1 ELSE 0 END FROM members WHERE conv_key = (SELECT conv_key FROM conversation_keys WHERE conversation_id = $1) AND user_id = $2), 0)
                WHERE conversation_id = $1;
                """,
                P(m.ConversationId), P(m.UserId), P(m.Active)));
            b.BatchCommands.Add(BatchCommand(
                """
                INSERT INTO members (conv_key, user_id, read_seq, feed_version, role, nickname, muted_until, joined_at, inviter_id,
                                     active, visible_from, info_version, read_diffusion)
                VALUES ((SELECT conv_key FROM conversation_keys WHERE conversation_id = $1), $2, GREATEST($11, 0), $10, $3, $4, $5, $6, $7, $8, $9, $10,
                        COALESCE((SELECT read_diffusion FROM conversations WHERE conversation_id = $1), false))
                ON CONFLICT (conv_key, user_id) DO UPDATE SET role = $3, nickname = $4, muted_until = $5, joined_at = $6,
                    inviter_id = $7, active = $8, visible_from = $9, read_seq = GREATEST(members.read_seq, $11),
                    feed_version = GREATEST(members.feed_version, $10), info_version = GREATEST(members.info_version, $10);
                """,
                P(m.ConversationId), P(m.UserId), P((int)m.Role), P(m.Nickname), P(m.MutedUntil), P(m.JoinedAt), P(m.InviterId), P(m.Active),
                P(m.VisibleFrom), P(m.Version), P(m.ReadSeqFloor)));
            if (!m.Active && m.VisibleTo > 0)
            {
                b.BatchCommands.Add(BatchCommand(
                    """
                    INSERT INTO member_periods (conversation_id, user_id, from_seq, to_seq) VALUES ($1, $2, $3, $4)
                    ON CONFLICT (conversation_id, user_id, from_seq) DO UPDATE SET to_seq = $4;
                    """,
                    P(m.ConversationId), P(m.UserId), P(m.VisibleFrom), P(m.VisibleTo)));
            }

            maxVersion = Math.Max(maxVersion, m.Version);
        }

        return maxVersion;
    }

    // The statements of one batch, in the order CommitBatch documents (after the copy on write of packed members, which
    // takes the super groups' compaction locks before the batch holds any member or group row): conversations, groups, member changes, group
    // requests, messages, revocations, read cursors, settings, feed state.
    private static void Build(NpgsqlBatch b, CommitBatch batch, int importPages)
    {
        var maxVersion = 0L;
        AddMemberUnpack(b, batch);
        foreach (var c in batch.Conversations)
        {
            b.BatchCommands.Add(BatchCommand(
                """
                INSERT INTO conversations (conversation_id, kind, group_id, name, creator_id, created_at, max_seq, last_seq, updated_at, member_count)
                VALUES ($1, $2, $3, $4, $5, $6, 0, 0, $6, $7);
                """,
                P(c.ConversationId), P((int)c.Kind), Text(c.GroupId), P(c.Name), P(c.CreatorId), P(c.CreatedAt), P(c.Members.Count)));

            // The conversation's key for its member rows (migration 23), in the same transaction as its row.
            b.BatchCommands.Add(BatchCommand(
                "INSERT INTO conversation_keys (conversation_id) VALUES ($1) ON CONFLICT (conversation_id) DO NOTHING;", P(c.ConversationId)));
            b.BatchCommands.Add(BatchCommand(
                "INSERT INTO members (conv_key, user_id, feed_version) SELECT (SELECT conv_key FROM conversation_keys WHERE conversation_id = $1), u, $3 FROM unnest($2::text[]) AS u;",
                P(c.ConversationId), P(c.Members.ToArray()), P(c.Version)));
            maxVersion = Math.Max(maxVersion, c.Version);
        }

        foreach (var g in batch.Groups)
        {
            b.BatchCommands.Add(BatchCommand(
                """
                INSERT INTO groups (group_id, conversation_id, name, avatar_url, introduction, announcement, ex, owner_id, join_policy,
                                    history_visible, mute_all, searchable, dismissed, created_at, updated_at, info_version, kind, member_notices)
                VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18)
                ON CONFLICT (group_id) DO UPDATE SET name = $3, avatar_url = $4, introduction = $5, announcement = $6, ex = $7,
                    owner_id = $8, join_policy = $9, history_visible = $10, mute_all = $11, searchable = $12, dismissed = $13,
                    updated_at = $15, info_version = GREATEST(groups.info_version, $16), kind = $17, member_notices = $18;
                """,
                P(g.GroupId), P(g.ConversationId), P(g.Name), P(g.AvatarUrl), P(g.Introduction), P(g.Announcement), P(g.Ex), P(g.OwnerId),
                P((int)g.JoinPolicy), P(g.HistoryVisibleToNewMembers), P(g.MuteAll), P(g.Searchable), P(g.Dismissed), P(g.CreatedAt),
                P(g.UpdatedAt), P(g.Version), P((int)g.Kind), P((int)g.MemberNotices)));
            if (g.ReadDiffusion)
            {
                // Creation or promotion of a super group: its rows leave the write-diffusion indexes (migration 15), once
                // (the uncorrelated EXISTS is a one-time filter: no scan of the members when the flag was already set).
                b.BatchCommands.Add(BatchCommand(
                    """
                    UPDATE members SET read_diffusion = true WHERE conv_key = (SELECT conv_key FROM conversation_keys WHERE conversation_id = $1) AND NOT read_diffusion
                        AND EXISTS (SELECT 1 FROM conversations WHERE conversation_id = $1 AND NOT read_diffusion);
                    """,
                    P(g.ConversationId)));
            }
            else
            {
                // A super group's info change writes nothing per member (members find it through ix_groups_super_info).
                b.BatchCommands.Add(BatchCommand(
                    "UPDATE members SET info_version = GREATEST(info_version, $2) WHERE conv_key = (SELECT conv_key FROM conversation_keys WHERE conversation_id = $1);", P(g.ConversationId), P(g.Version)));
            }

            b.BatchCommands.Add(BatchCommand(
                "UPDATE conversations SET name = $2, read_diffusion = $3, rd_head_version = CASE WHEN $3 THEN head_version ELSE 0 END WHERE conversation_id = $1;", P(g.ConversationId), P(g.Name), P(g.ReadDiffusion)));
            maxVersion = Math.Max(maxVersion, g.Version);
        }

        if (batch.MemberChanges.Count > 0)
        {
            maxVersion = Math.Max(maxVersion, AddMemberChanges(b, batch.MemberChanges, importPages));
        }

        foreach (var r in batch.GroupRequests)
        {
            b.BatchCommands.Add(BatchCommand(
                """
                INSERT INTO group_requests (group_id, user_id, inviter_id, kind, message, state, created_at, handled_at, handler_id)
                VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
                ON CONFLICT (group_id, user_id) DO UPDATE SET inviter_id = $3, kind = $4, message = $5, state = $6,
                    created_at = $7, handled_at = $8, handler_id = $9;
                """,
                P(r.GroupId), P(r.UserId), P(r.InviterId), P(r.Kind), P(r.Message), P(r.State), P(r.CreatedAt), P(r.HandledAt), P(r.HandlerId)));
        }

        if (batch.Messages.Count > 0)
        {
            maxVersion = Math.Max(maxVersion, AddMessages(b, batch.Messages, batch.ReadDiffusion));
        }

        foreach (var u in batch.MessageUpdates)
        {
            AddUpdate(b, u);
            maxVersion = Math.Max(maxVersion, u.Version);
        }

        if (batch.Revocations.Count > 0)
        {
            // The queued text first: if an indexer holds it, this waits for that indexer's commit, and the next
            // statement (a new snapshot) then deletes what it indexed (ADR 0019).
            b.BatchCommands.Add(BatchCommand(
                """
                DELETE FROM search_pending USING unnest($1::text[], $2::bigint[]) AS r(conversation_id, seq)
                WHERE search_pending.conversation_id = r.conversation_id AND search_pending.seq = r.seq;
                """,
                P(batch.Revocations.Select(r => r.ConversationId).ToArray()), P(batch.Revocations.Select(r => r.Seq).ToArray())));
            b.BatchCommands.Add(BatchCommand(
                """
                DELETE FROM message_search USING unnest($1::text[], $2::bigint[]) AS r(conversation_id, seq)
                WHERE message_search.conversation_id = r.conversation_id AND message_search.seq = r.seq;
                """,
                P(batch.Revocations.Select(r => r.ConversationId).ToArray()), P(batch.Revocations.Select(r => r.Seq).ToArray())));

            // A revoked (or erased) message keeps none of its earlier texts either.
            b.BatchCommands.Add(BatchCommand(
                """
                DELETE FROM message_revisions USING unnest($1::text[], $2::bigint[]) AS r(conversation_id, seq)
                WHERE message_revisions.conversation_id = r.conversation_id AND message_revisions.seq = r.seq;
                """,
                P(batch.Revocations.Select(r => r.ConversationId).ToArray()), P(batch.Revocations.Select(r => r.Seq).ToArray())));
            b.BatchCommands.Add(BatchCommand(
                """
                UPDATE messages SET revoked = true, content = ''::bytea
                FROM unnest($1::text[], $2::bigint[]) AS r(conversation_id, seq)
                WHERE messages.conversation_id = r.conversation_id AND messages.seq = r.seq;
                """,
                P(batch.Revocations.Select(r => r.ConversationId).ToArray()), P(batch.Revocations.Select(r => r.Seq).ToArray())));
        }

        if (batch.ReadCursors.Count > 0)
        {
            // Both columns only rise, so several cursors of one member fold into their maxima (one row per member:
            // an UPDATE … FROM joins each target row once).
            var cursors = new Dictionary<(string Conversation, string User), (long Seq, long Version)>();
            foreach (var c in batch.ReadCursors)
            {
                var key = (c.ConversationId, c.UserId);
                cursors[key] = cursors.TryGetValue(key, out var t) ? (Math.Max(t.Seq, c.ReadSeq), Math.Max(t.Version, c.Version)) : (c.ReadSeq, c.Version);
                maxVersion = Math.Max(maxVersion, c.Version);
            }

            b.BatchCommands.Add(BatchCommand(
                """
                UPDATE members SET read_seq = GREATEST(members.read_seq, u.seq), feed_version = GREATEST(members.feed_version, u.version)
                FROM unnest($1::text[], $2::text[], $3::bigint[], $4::bigint[]) AS u(conversation_id, user_id, seq, version)
                JOIN conversation_keys k ON k.conversation_id = u.conversation_id
                WHERE members.conv_key = k.conv_key AND members.user_id = u.user_id;
                """,
                P(cursors.Keys.Select(k => k.Conversation).ToArray()), P(cursors.Keys.Select(k => k.User).ToArray()),
                P(cursors.Values.Select(v => v.Seq).ToArray()), P(cursors.Values.Select(v => v.Version).ToArray())));
        }

        foreach (var s in batch.Settings)
        {
            // One statement each, in order: a later setting of the same member overrides an earlier one.
            b.BatchCommands.Add(BatchCommand(
                """
                UPDATE members SET pinned = COALESCE($3, pinned), muted = COALESCE($4, muted), mentions_only = COALESCE($6, mentions_only),
                    feed_version = GREATEST(feed_version, $5)
                WHERE conv_key = (SELECT conv_key FROM conversation_keys WHERE conversation_id = $1) AND user_id = $2;
                """,
                P(s.ConversationId), P(s.UserId), Bool(s.Pinned), Bool(s.Muted), P(s.Version), Bool(s.MentionsOnly)));
            maxVersion = Math.Max(maxVersion, s.Version);
        }

        b.BatchCommands.Add(BatchCommand("UPDATE feed_state SET max_version = GREATEST(max_version, $1) WHERE id = 1;", P(maxVersion)));

        // The after-hook events of this commit, in its transaction (ADR 0012).
        if (batch.WebhookEvents.Count > 0)
        {
            b.BatchCommands.Add(Webhooks.PostgresWebhookOutbox.InsertCommand(batch.WebhookEvents));
        }
    }

    /// <summary>
    /// Copy on write of packed super-group members (ADR 0021, migration 25): every member this batch writes (member
    /// changes, read cursors, settings, and the senders and mentioned users of super-group messages) gets a row copied
    /// from its slot first when it has none, so the statements after it change only their own fields of a row. One
    /// statement; nothing for a batch that writes no member of a super group (1:1 and normal-group messages name none).
    /// </summary>
    private static void AddMemberUnpack(NpgsqlBatch b, CommitBatch batch)
    {
        var conversations = new List<string>();
        var users = new List<string>();
        void Add(string conversationId, string userId)
        {
            conversations.Add(conversationId);
            users.Add(userId);
        }

        foreach (var m in batch.MemberChanges)
        {
            Add(m.ConversationId, m.UserId);
        }

        foreach (var m in batch.Messages)
        {
            if (batch.ReadDiffusion.Contains(m.ConversationId))
            {
                Add(m.ConversationId, m.SenderId);
                foreach (var user in m.MentionedUserIds ?? [])
                {
                    Add(m.ConversationId, user);
                }
            }
        }

        foreach (var c in batch.ReadCursors)
        {
            Add(c.ConversationId, c.UserId);
        }

        foreach (var s in batch.Settings)
        {
            Add(s.ConversationId, s.UserId);
        }

        if (conversations.Count > 0)
        {
            b.BatchCommands.Add(BatchCommand("SELECT member_unpack($1::text[], $2::text[]);", P(conversations.ToArray()), P(users.ToArray())));
        }
    }

    // The hot path: every message of the batch in one INSERT, and the conversation-wide effects once per conversation
    // (and the senders' own read cursors once per sender) in one statement each.
    private static long AddMessages(NpgsqlBatch b, List<StoredMessage> messages, HashSet<string> readDiffusion)
    {
        var n = messages.Count;
        var conversations = new string[n];
        var seqs = new long[n];
        var serverIds = new string[n];
        var senders = new string[n];
        var clientIds = new string[n];
        var times = new long[n];
        var kinds = new int[n];
        var contents = new byte[n][];
        var revoked = new bool[n];
        var versions = new long[n];
        var annotations = new byte[]?[n];
        var replyTos = new long[n];
        var touched = new Dictionary<string, (long MaxSeq, long LastTime, long MaxVersion)>(StringComparer.Ordinal);
        var senderSeqs = new Dictionary<(string Conversation, string Sender), long>();
        for (var i = 0; i < n; i++)
        {
            var m = messages[i];
            conversations[i] = m.ConversationId;
            seqs[i] = m.Seq;
            serverIds[i] = m.ServerMsgId;
            senders[i] = m.SenderId;
            clientIds[i] = m.ClientMsgId;
            times[i] = m.ServerTime;
            kinds[i] = m.ContentKind;
            contents[i] = m.Content;
            revoked[i] = m.Revoked;
            versions[i] = m.Version;
            annotations[i] = m.Annotations;
            replyTos[i] = m.ReplyToSeq;
            var key = (m.ConversationId, m.SenderId);
            senderSeqs[key] = senderSeqs.TryGetValue(key, out var s) ? Math.Max(s, m.Seq) : m.Seq;
            touched[m.ConversationId] = touched.TryGetValue(m.ConversationId, out var t)
                ? (Math.Max(t.MaxSeq, m.Seq), Math.Max(t.LastTime, m.ServerTime), Math.Max(t.MaxVersion, m.Version))
                : (m.Seq, m.ServerTime, m.Version);
        }

        b.BatchCommands.Add(BatchCommand(
            """
            INSERT INTO messages (conversation_id, seq, server_msg_id, sender_id, client_msg_id, server_time, content_kind, content, revoked, version,
                                  annotations, reply_to_seq)
            SELECT * FROM unnest($1::text[], $2::bigint[], $3::text[], $4::text[], $5::text[], $6::bigint[], $7::integer[], $8::bytea[], $9::boolean[], $10::bigint[],
                                 $11::bytea[], $12::bigint[]);
            """,
            P(conversations), P(seqs), P(serverIds), P(senders), P(clientIds), P(times), P(kinds), P(contents), P(revoked), P(versions),
            new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Bytea, Value = annotations.Select(a => (object?)a ?? DBNull.Value).ToArray() },
            P(replyTos)));
        var indexed = messages.Where(m => m.HasSearchText).ToArray();
        if (indexed.Length > 0)
        {
            // Queued for the full-text index, not indexed here (ADR 0019): no GIN trigram update on the commit path.
            b.BatchCommands.Add(BatchCommand(
                "INSERT INTO search_pending (conversation_id, seq, server_time, body) SELECT * FROM unnest($1::text[], $2::bigint[], $3::bigint[], $4::text[]);",
                P(indexed.Select(m => m.ConversationId).ToArray()),
                P(indexed.Select(m => m.Seq).ToArray()),
                P(indexed.Select(m => m.ServerTime).ToArray()),
                P(indexed.Select(m => m.SearchTextString()!).ToArray())));
        }

        foreach (var m in messages)
        {
            if (m.MentionAll)
            {
                b.BatchCommands.Add(BatchCommand(
                    "UPDATE conversations SET mention_all_seq = GREATEST(mention_all_seq, $2) WHERE conversation_id = $1;", P(m.ConversationId), P(m.Seq)));
            }

            if (m.MentionedUserIds is { Count: > 0 } users)
            {
                b.BatchCommands.Add(BatchCommand(
                    "UPDATE members SET mention_seq = GREATEST(mention_seq, $2) WHERE conv_key = (SELECT conv_key FROM conversation_keys WHERE conversation_id = $1) AND user_id = ANY($3);",
                    P(m.ConversationId), P(m.Seq), P(users.ToArray())));
            }
        }

        b.BatchCommands.Add(BatchCommand(
            """
            UPDATE members SET read_seq = GREATEST(members.read_seq, u.seq)
            FROM unnest($1::text[], $2::text[], $3::bigint[]) AS u(conversation_id, user_id, seq)
            JOIN conversation_keys k ON k.conversation_id = u.conversation_id
            WHERE members.conv_key = k.conv_key AND members.user_id = u.user_id;
            """,
            P(senderSeqs.Keys.Select(k => k.Conversation).ToArray()), P(senderSeqs.Keys.Select(k => k.Sender).ToArray()), P(senderSeqs.Values.ToArray())));

        var ids = touched.Keys.ToArray();
        var maxSeqs = ids.Select(id => touched[id].MaxSeq).ToArray();
        var lastTimes = ids.Select(id => touched[id].LastTime).ToArray();
        var maxVersions = ids.Select(id => touched[id].MaxVersion).ToArray();

        // No column an index names changes here for a write-diffusion conversation (rd_head_version only while read-diffusion,
        // migration 31), so PostgreSQL updates the row in place: a heap-only tuple, no conversations_pkey entry per message.
        b.BatchCommands.Add(BatchCommand(
            """
            UPDATE conversations SET max_seq = GREATEST(conversations.max_seq, u.seq), last_seq = GREATEST(conversations.last_seq, u.seq),
                updated_at = GREATEST(conversations.updated_at, u.at), head_version = GREATEST(conversations.head_version, u.version),
                rd_head_version = CASE WHEN conversations.read_diffusion THEN GREATEST(conversations.rd_head_version, u.version) ELSE conversations.rd_head_version END
            FROM unnest($1::text[], $2::bigint[], $3::bigint[], $4::bigint[]) AS u(conversation_id, seq, at, version)
            WHERE conversations.conversation_id = u.conversation_id;
            """,
            P(ids), P(maxSeqs), P(lastTimes), P(maxVersions)));

        // Read diffusion (ADR 0017): nothing per member; the head version above tells resuming members.
        var writeDiffusion = ids.Where(id => !readDiffusion.Contains(id)).ToArray();
        if (writeDiffusion.Length == 0)
        {
            return maxVersions.Max();
        }

        var writeVersions = writeDiffusion.Select(id => touched[id].MaxVersion).ToArray();

        // GREATEST, not plain assignment: a member's feed version must never move back, or a sync cursor would skip a change.
        b.BatchCommands.Add(BatchCommand(
            """
            UPDATE members SET feed_version = GREATEST(members.feed_version, u.version)
            FROM unnest($1::text[], $2::bigint[]) AS u(conversation_id, version)
            JOIN conversation_keys k ON k.conversation_id = u.conversation_id
            WHERE members.conv_key = k.conv_key AND members.active;
            """,
            P(writeDiffusion), P(writeVersions)));
        return maxVersions.Max();
    }

    private static void AddUpdate(NpgsqlBatch b, MessageUpdate u)
    {
        if (u.Previous is { } previous)
        {
            b.BatchCommands.Add(BatchCommand(
                "INSERT INTO message_revisions (conversation_id, seq, revision, content, time) VALUES ($1, $2, $3, $4, $5);",
                P(previous.ConversationId), P(previous.Seq), P(previous.Revision), P(previous.Content), P(previous.Time)));
        }

        b.BatchCommands.Add(BatchCommand(
            """
            UPDATE messages SET annotations = $3, content = COALESCE($4, content), version = GREATEST(version, $5) WHERE conversation_id = $1 AND seq = $2;
            """,
            P(u.ConversationId), P(u.Seq), P(u.Annotations), new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.Bytea, Value = (object?)u.Content ?? DBNull.Value }, P(u.Version)));
        b.BatchCommands.Add(BatchCommand(
            "UPDATE conversations SET change_version = GREATEST(change_version, $2) WHERE conversation_id = $1;", P(u.ConversationId), P(u.Version)));
        if (u.SearchText is { } text)
        {
            // As a revoke: the queued text first (ADR 0019), then the indexed one; the new text is indexed at once.
            b.BatchCommands.Add(BatchCommand("DELETE FROM search_pending WHERE conversation_id = $1 AND seq = $2;", P(u.ConversationId), P(u.Seq)));
            b.BatchCommands.Add(BatchCommand("DELETE FROM message_search WHERE conversation_id = $1 AND seq = $2;", P(u.ConversationId), P(u.Seq)));
            b.BatchCommands.Add(BatchCommand(
                """
                INSERT INTO message_search (conversation_id, seq, server_time, body)
                SELECT conversation_id, seq, server_time, $3 FROM messages WHERE conversation_id = $1 AND seq = $2 AND $3 <> '' AND NOT revoked;
                """,
                P(u.ConversationId), P(u.Seq), P(text)));
        }
    }

    /// <summary>
    /// Moves a super group's member rows into its packed pages (ADR 0021; by ranges of pages since migration 26): the
    /// group's rows are planned into ranges of at most <see cref="PostgresStoreOptions.MemberCompactionRangePages"/>
    /// pages, and each range (at most <see cref="PostgresStoreOptions.MemberCompactionRangeRows"/> of its rows) moves in a
    /// short transaction of its own under the group's compaction lock, so commits that write the group's members wait for
    /// one range at most, never for the whole group. A row wins over its user's slot; rows written after the plan stay
    /// rows (the next compaction's delta). One compaction of a group at a time (a session lock per group, across nodes):
    /// this call waits for another one to end. Returns the rows moved (0 for a conversation that is not a super group, or
    /// has no rows).
    /// </summary>
    public Task<int> CompactSuperGroupAsync(string conversationId, CancellationToken cancellationToken = default) =>
        CompactAsync(conversationId, onlyWhenDue: false, cancellationToken);

    /// <inheritdoc />
    public Task<int> CompactSuperGroupIfDueAsync(string conversationId, CancellationToken cancellationToken = default) =>
        CompactAsync(conversationId, onlyWhenDue: true, cancellationToken);

    /// <inheritdoc />
    public async Task<IReadOnlyList<string>> GetSuperGroupsDueForCompactionAsync(int limit, CancellationToken cancellationToken = default)
    {
        _database.ThrowIfNotReady();
        var connection = await _database.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using (connection.ConfigureAwait(false))
        {
            using var command = Command(
                connection,
                """
                SELECT g.conversation_id FROM groups g JOIN conversation_keys k ON k.conversation_id = g.conversation_id
                WHERE g.kind <> 0 AND member_compaction_due(k.conv_key, $1, $2)
                ORDER BY g.conversation_id LIMIT $3;
                """,
                P(_database.Options.MemberCompactionMinRows),
                P(_database.Options.MemberCompactionShare),
                P((long)Math.Clamp(limit, 1, 1000)));
            return await ReadAllAsync(command, r => r.GetString(0), cancellationToken).ConfigureAwait(false);
        }
    }

    // The plan of one pass: the group's pages cut into ranges of `pages` pages (the first range from '', the last to no
    // end; a group without pages is one range), and per range with rows its first `rows` rows (user-id order) and how many
    // it has. A row's range is the range of the page whose span holds it (one primary-key probe per row).
    private const string CompactionPlanSql = """
        WITH pages AS (
            SELECT p.first_user, (row_number() OVER (ORDER BY p.first_user) - 1) / $2 AS r FROM member_pages p WHERE p.conv_key = $1
        ), ranges AS (
            SELECT r, CASE WHEN r = 0 THEN '' ELSE min(first_user) END AS lo, lead(min(first_user)) OVER (ORDER BY r) AS hi
            FROM pages GROUP BY r
            UNION ALL
            SELECT 0, '' COLLATE "C", NULL::text COLLATE "C" WHERE NOT EXISTS (SELECT 1 FROM member_pages WHERE conv_key = $1)
        ), placed AS (
            SELECT m.user_id, COALESCE(pr.r, 0) AS r
            FROM members m
            LEFT JOIN LATERAL (SELECT q.first_user FROM member_pages q WHERE q.conv_key = $1 AND q.first_user <= m.user_id COLLATE "C"
                               ORDER BY q.first_user DESC LIMIT 1) pg ON true
            LEFT JOIN pages pr ON pr.first_user = pg.first_user
            WHERE m.conv_key = $1
        )
        SELECT g.lo, g.hi, (array_agg(x.user_id ORDER BY x.user_id COLLATE "C"))[1:$3], count(*)
        FROM placed x JOIN ranges g ON g.r = x.r
        GROUP BY g.r, g.lo, g.hi ORDER BY g.r;
        """;

    private async Task<int> CompactAsync(string conversationId, bool onlyWhenDue, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(conversationId);
        _database.ThrowIfNotReady();
        var options = _database.Options;
        var total = 0;
        var ranges = 0;
        var connection = await _database.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using (connection.ConfigureAwait(false))
        {
            long key;
            using (var find = Command(
                connection,
                """
                SELECT k.conv_key, member_compaction_due(k.conv_key, $2, $3) FROM conversation_keys k JOIN conversations c ON c.conversation_id = k.conversation_id
                WHERE k.conversation_id = $1 AND c.read_diffusion;
                """,
                P(conversationId),
                P(options.MemberCompactionMinRows),
                P(options.MemberCompactionShare)))
            {
                await using var reader = await find.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
                if (!await reader.ReadAsync(cancellationToken).ConfigureAwait(false) || (onlyWhenDue && !reader.GetBoolean(1)))
                {
                    return 0;
                }

                key = reader.GetInt64(0);
            }

            // One compaction of a group at a time (this node's or another's): a session lock of its own, beside the
            // commits' lock. The explicit call waits for it; the bound's call leaves the group to the compaction running.
            using (var take = Command(
                connection,
                (onlyWhenDue ? "SELECT pg_try_advisory_lock" : "SELECT true FROM pg_advisory_lock")
                    + "(hashtext('member_compactor ' || current_schema()), ($1 % 2147483647)::integer);",
                P(key)))
            {
                take.CommandTimeout = 0;
                if (await take.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) is not true)
                {
                    return 0;
                }
            }

            try
            {
                // Passes until no range was capped (a range with more rows than one transaction moves, e.g. a group's first
                // compaction: its pages grow at the end of the group and the next pass's last range takes the rest).
                var capped = true;
                while (capped)
                {
                    capped = false;
                    List<(string Lo, string? Hi, string[] Users, long Count)> plan;
                    using (var command = Command(connection, CompactionPlanSql, P(key), P((long)options.MemberCompactionRangePages), P(options.MemberCompactionRangeRows)))
                    {
                        command.CommandTimeout = 600;
                        plan = await ReadAllAsync(command, r => (r.GetString(0), r.IsDBNull(1) ? null : r.GetString(1), r.GetFieldValue<string[]>(2), r.GetInt64(3)), cancellationToken).ConfigureAwait(false);
                    }

                    foreach (var (lo, hi, users, count) in plan)
                    {
                        using var command = Command(connection, "SELECT compact_member_range($1, $2, $3, $4);", P(key), P(lo), Text(hi), P(users));
                        command.CommandTimeout = 120;
                        var moved = Convert.ToInt32(await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false), System.Globalization.CultureInfo.InvariantCulture);
                        total += moved;
                        ranges++;
                        capped |= count > users.Length && moved > 0;
                        if (options.AfterMemberCompactionRange is { } hook)
                        {
                            await hook(conversationId, cancellationToken).ConfigureAwait(false);
                        }
                    }
                }
            }
            finally
            {
                using var release = Command(connection, "SELECT pg_advisory_unlock(hashtext('member_compactor ' || current_schema()), ($1 % 2147483647)::integer);", P(key));
                await release.ExecuteScalarAsync(CancellationToken.None).ConfigureAwait(false);
            }
        }

        if (total > 0)
        {
            LogCompacted(_logger, conversationId, total, ranges);
        }

        return total;
    }

    // The test hook (PostgresStoreOptions.CompactMemberPagesAfterCommit): every conversation the batch named, compacted
    // one at a time after the commit (the call is a no-op for all but super groups).
    private async Task CompactAfterCommitAsync(CommitBatch batch, CancellationToken cancellationToken)
    {
        var named = new SortedSet<string>(StringComparer.Ordinal);
        named.UnionWith(batch.Conversations.Select(c => c.ConversationId));
        named.UnionWith(batch.Groups.Select(g => g.ConversationId));
        named.UnionWith(batch.MemberChanges.Select(m => m.ConversationId));
        named.UnionWith(batch.Messages.Select(m => m.ConversationId));
        named.UnionWith(batch.ReadCursors.Select(c => c.ConversationId));
        named.UnionWith(batch.Settings.Select(s => s.ConversationId));
        foreach (var conversationId in named)
        {
            await CompactSuperGroupAsync(conversationId, cancellationToken).ConfigureAwait(false);
        }
    }

    [LoggerMessage(EventId = 4212, Level = LogLevel.Information, Message = "PostgreSQL compaction of super group {ConversationId}: {Rows} member rows moved into its pages in {Ranges} short transactions")]
    private static partial void LogCompacted(ILogger logger, string conversationId, int rows, int ranges);

    [LoggerMessage(EventId = 4210, Level = LogLevel.Warning, Message = "PostgreSQL commit of {Messages} messages and {Conversations} conversations rejected by a uniqueness rule; rolled back")]
    private static partial void LogCommitConflict(ILogger logger, int messages, int conversations);

    [LoggerMessage(EventId = 4211, Level = LogLevel.Error, Message = "PostgreSQL commit of {Messages} messages and {Conversations} conversations failed; rolled back")]
    private static partial void LogCommitFailed(ILogger logger, Exception exception, int messages, int conversations);
}
