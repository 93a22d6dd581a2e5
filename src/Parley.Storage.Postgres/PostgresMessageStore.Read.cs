using System.Data;
using System.Globalization;
using Npgsql;
using Parley.Abstractions.Messaging;
using Parley.Storage.Postgres.Internal;
using static Parley.Storage.Postgres.Internal.PostgresRows;

namespace Parley.Storage.Postgres;

public sealed partial class PostgresMessageStore
{
    // The user's rows above the cursor (ix_members_user_feed), the user's rows in the conversations edited since the cursor
    // (migration 31: a probe of each, or every row of the user when $4 or more were edited), and the user's slots in the
    // super groups compacted or edited since the cursor (migration 29: a page probe per changed group), or every slot of the
    // user when $3 or more groups changed.
    internal static readonly string ChangedViewsSql = PostgresRows.ViewSelect.Replace(
        "FROM members_of_user($1) m", "FROM members_of_user_changed($1, $2, $3, $4) m", StringComparison.Ordinal)
        + " AND (m.feed_version > $2 OR (m.active AND c.change_version > $2)) ORDER BY GREATEST(m.feed_version, c.change_version), c.conversation_id;";

    // One conversation: the member by (group, user), a row else its slot (not every membership of the user).
    private static readonly string OneViewSql = PostgresRows.ViewSelect.Replace(
        "FROM members_of_user($1) m", "FROM conversation_keys mk CROSS JOIN LATERAL member_get(mk.conv_key, $1) m", StringComparison.Ordinal)
        + " AND mk.conversation_id = $2;";

    // Read diffusion (ADR 0017): the super groups that advanced since the cursor (partial index on head_version, cost
    // proportional to the advanced groups) where the user is an active member whose own row did not change: the user's
    // row, else slot, probed in each advanced group (migration 29), or the user's memberships among them when $3 or more
    // advanced.
    internal static readonly string AdvancedSuperGroupsSql = PostgresRows.ViewSelect.Replace(
        "FROM members_of_user($1) m", "FROM members_of_user_advanced($1, $2, $3) m", StringComparison.Ordinal) + """
         AND m.active AND m.feed_version <= $2
        ORDER BY c.head_version, c.conversation_id;
        """;
    // A page of the conversation list: the page's memberships are chosen first, from the columns of the order alone (the
    // user's memberships and their conversations), and only those get the rest of the view (the peer, the last message):
    // the view of every membership of the user was built and then sorted, the page kept (stop 47, pg: a user in 111
    // conversations, a page of 20: 1,183 -> 666 buffers; the peer and the last message are 7 of a view's ~11).
    internal static readonly string PageViewsSql = PostgresRows.ViewSelect.Replace(
        "FROM members_of_user($1) m",
        "FROM (SELECT pm.* FROM members_of_user($1) pm JOIN conversation_keys pk ON pk.conv_key = pm.conv_key"
        + " JOIN conversations pc ON pc.conversation_id = pk.conversation_id WHERE pm.user_id = $1"
        + " ORDER BY pm.pinned DESC, pc.updated_at DESC, pc.head_version DESC, pc.conversation_id LIMIT $2 OFFSET $3) m",
        StringComparison.Ordinal) + " ORDER BY m.pinned DESC, c.updated_at DESC, c.head_version DESC, c.conversation_id;";

    /// <summary>
    /// Up to this many rows above a sync's cursor in a conversation, its newest are read from ix_messages_conv_version (all
    /// of them, then sorted by seq); from this many on, by a walk of the primary key newest first (stop 47, pg): see
    /// <see cref="ChangedMessagesSql"/>.
    /// </summary>
    internal const int SyncWalkBound = 1000;

    private static readonly string SyncWalkBoundText = SyncWalkBound.ToString(CultureInfo.InvariantCulture);

    // Whether the viewing member $1 may see row msg, given v (ChangedMessagesSql's member, read once per conversation): its
    // seq at or above the visible_from of the user's active membership (a row, else a packed slot), or inside one of the
    // user's closed periods.
    private const string SyncVisible =
        "(msg.seq >= v.visible_from OR EXISTS (SELECT 1 FROM member_periods vp WHERE vp.conversation_id = msg.conversation_id AND vp.user_id = $1"
        + " AND msg.seq BETWEEN vp.from_seq AND vp.to_seq))";

    // The newest $4 (+1, to tell truncation) visible messages above the cursor of each changed conversation, in ONE query,
    // each conversation at a cost proportional to the rows it returns, not to its history (stop 47, pg; issue 17: one query
    // per conversation before). Per conversation:
    // - v: the member's visible_from (member_get once, not once per row as the EXISTS it replaces: 6 buffers per row read)
    //   and the lowest seq the user may see (that, or the first seq of a closed period);
    // - above: how many rows are above the cursor, counted up to SyncWalkBound on ix_messages_conv_version (index only);
    // - fewer (an incremental sync, edits and revokes of old rows included): those rows from ix_messages_conv_version, the
    //   newest $4 by seq (msg.seq + 0: not the primary key's order, which the planner took for a far cursor and then walked
    //   the conversation's history down to the cursor's rows, whatever their number);
    // - at least as many (a fresh device, a far cursor): the primary key newest first from the conversation's newest seq,
    //   stopping at $4 rows (msg.version + 0: the rows above the cursor were sorted whole before, 50,052 rows for a device
    //   50,000 behind; the seq range between the first visible seq and the newest makes the planner's estimate a range's,
    //   so it keeps the key's order and its LIMIT instead of sorting the conversation: it estimates any conversation at the
    //   table's average size); for a former member (no active membership: v.visible_from is null), the primary key newest
    //   first inside each of their closed periods, $4 rows at most of each, the newest $4 kept: every row of a period is
    //   visible to them, none outside (stop 48, pg: the walk went from the conversation's newest seq down through every
    //   message since they left, each with a periods probe), in a branch of its own so that a member's plan stays the one
    //   above.
    // Exactly one branch runs (one-time filters). The rows are the same as the walk's before: every visible row has a seq
    // at or above v.first_seq and at or below the newest (a former member's: inside one of their periods).
    internal static readonly string ChangedMessagesSql =
        "SELECT x.* FROM unnest($3::text[]) WITH ORDINALITY AS c(id, ord)"
        + " CROSS JOIN LATERAL (SELECT MIN(vm.visible_from) AS visible_from, LEAST(MIN(vm.visible_from),"
        + " (SELECT MIN(p.from_seq) FROM member_periods p WHERE p.conversation_id = c.id AND p.user_id = $1)) AS first_seq"
        + " FROM conversation_keys vk CROSS JOIN LATERAL member_get(vk.conv_key, $1) vm WHERE vk.conversation_id = c.id AND vm.active) v"
        + " CROSS JOIN LATERAL (SELECT count(*) AS n FROM (SELECT 1 FROM messages b WHERE b.conversation_id = c.id AND b.version > $2 LIMIT " + SyncWalkBoundText + ") a) above"
        + " CROSS JOIN LATERAL ("
        + "(SELECT " + PostgresRows.MessageColumns + " FROM messages msg WHERE above.n < " + SyncWalkBoundText
        + " AND msg.conversation_id = c.id AND msg.version > $2 AND " + SyncVisible + " ORDER BY msg.seq + 0 DESC LIMIT $4)"
        + " UNION ALL "
        + "(SELECT " + PostgresRows.MessageColumns + " FROM messages msg WHERE above.n >= " + SyncWalkBoundText + " AND v.visible_from IS NOT NULL"
        + " AND msg.conversation_id = c.id AND msg.seq >= v.first_seq AND msg.seq <= (SELECT max(t.seq) FROM messages t WHERE t.conversation_id = c.id)"
        + " AND msg.version + 0 > $2 AND " + SyncVisible + " ORDER BY msg.seq DESC LIMIT $4)"
        + " UNION ALL "
        + "(SELECT pm.* FROM member_periods p CROSS JOIN LATERAL (SELECT " + PostgresRows.MessageColumns + " FROM messages msg"
        + " WHERE msg.conversation_id = c.id AND msg.seq BETWEEN p.from_seq AND p.to_seq AND msg.version + 0 > $2 ORDER BY msg.seq DESC LIMIT $4) pm"
        + " WHERE above.n >= " + SyncWalkBoundText + " AND v.visible_from IS NULL AND p.conversation_id = c.id AND p.user_id = $1"
        + " ORDER BY pm.seq DESC LIMIT $4)"
        + ") AS x ORDER BY c.ord, x.seq;";

    /// <inheritdoc />
    public async Task<long> GetMaxVersionAsync(CancellationToken cancellationToken = default)
    {
        var connection = await _database.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using (connection.ConfigureAwait(false))
        {
            return await ReadMaxVersionAsync(connection, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<string>> UsersChangedSinceAsync(IReadOnlyCollection<string> userIds, long version, CancellationToken cancellationToken = default)
    {
        if (userIds.Count == 0)
        {
            return [];
        }

        // The sync's conditions (ChangedViewsSql, AdvancedSuperGroupsSql) at or above the version: a member row's own feed
        // version, or, for an active member, the conversation's change version (edits and reactions raise only that) or a
        // read-diffusion super group's head version (its messages raise no member row). Asking for the first alone missed
        // a gap that held nothing but an edit: the gap was skipped, nobody resynced, and the members' next live event
        // moved their cursors past the edit for good. ix_members_user_feed (user_id, feed_version): one index range per user;
        // packed slots only in the super groups compacted, edited or advanced since the version (migration 29), as the sync.
        return await _database.QueryAsync(
            """
            SELECT m.user_id FROM unnest($1::text[]) AS q(u)
            CROSS JOIN LATERAL (SELECT * FROM members_of_user_changed(q.u, $2 - 1, $3, $4) UNION ALL SELECT * FROM members_of_user_advanced(q.u, $2 - 1, $3)) m
            JOIN conversation_keys k ON k.conv_key = m.conv_key
            JOIN conversations c ON c.conversation_id = k.conversation_id
            WHERE m.user_id = ANY($1)
              AND (m.feed_version >= $2 OR (m.active AND (c.change_version >= $2 OR (c.read_diffusion AND c.head_version >= $2))))
            GROUP BY m.user_id;
            """,
            r => r.GetString(0),
            cancellationToken,
            P(userIds as string[] ?? [.. userIds]),
            P(version),
            P(ChangedGroupProbeLimit(version - 1)),
            P(EditedConversationProbeLimit(version - 1))).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async Task<ConversationRecord?> GetConversationAsync(string conversationId, CancellationToken cancellationToken = default)
    {
        var rows = await _database.QueryAsync(
            "SELECT conversation_id, kind, group_id, name, creator_id, created_at, max_seq FROM conversations WHERE conversation_id = $1;",
            r => new ConversationRecord(
                r.GetString(0), (ConversationKind)r.GetInt32(1), r.IsDBNull(2) ? null : r.GetString(2), r.GetString(3), r.GetString(4), r.GetInt64(5), r.GetInt64(6)),
            cancellationToken,
            P(conversationId)).ConfigureAwait(false);
        return rows.Count == 0 ? null : rows[0];
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<MemberRecord>> GetMembersAsync(string conversationId, CancellationToken cancellationToken = default) =>
        await _database.QueryAsync("SELECT " + MemberColumns + " FROM conversation_keys k CROSS JOIN LATERAL members_of_conv(k.conv_key) m WHERE k.conversation_id = $1 ORDER BY user_id;", ReadMember, cancellationToken, P(conversationId))
            .ConfigureAwait(false);

    /// <inheritdoc />
    public async Task<StoredMessage?> GetMessageAsync(string conversationId, long seq, CancellationToken cancellationToken = default)
    {
        var rows = await _database.QueryAsync(
            "SELECT " + MessageColumns + " FROM messages WHERE conversation_id = $1 AND seq = $2;", ReadMessage, cancellationToken, P(conversationId), P(seq))
            .ConfigureAwait(false);
        return rows.Count == 0 ? null : rows[0];
    }

    /// <inheritdoc />
    public async Task<StoredMessage?> FindByClientMsgIdAsync(string conversationId, string senderId, string clientMsgId, CancellationToken cancellationToken = default)
    {
        var rows = await _database.QueryAsync(
            "SELECT " + MessageColumns + " FROM messages WHERE conversation_id = $1 AND sender_id = $2 AND client_msg_id = $3;",
            ReadMessage,
            cancellationToken,
            P(conversationId),
            P(senderId),
            P(clientMsgId)).ConfigureAwait(false);
        return rows.Count == 0 ? null : rows[0];
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<StoredMessage>> ReadMessagesAsync(string conversationId, long fromSeq, ReadDirection direction, int limit, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(limit);
        if (limit == 0)
        {
            return [];
        }

        var backward = direction == ReadDirection.Backward;
        var messages = await _database.QueryAsync(
            backward
                ? "SELECT " + MessageColumns + " FROM messages WHERE conversation_id = $1 AND seq <= $2 ORDER BY seq DESC LIMIT $3;"
                : "SELECT " + MessageColumns + " FROM messages WHERE conversation_id = $1 AND seq >= $2 ORDER BY seq LIMIT $3;",
            ReadMessage,
            cancellationToken,
            P(conversationId),
            P(backward && fromSeq <= 0 ? long.MaxValue : fromSeq),
            P((long)limit)).ConfigureAwait(false);
        if (backward)
        {
            messages.Reverse();
        }

        return messages;
    }

    // How many changed super groups the sync's statements probe page by page before they read the user's slots through the
    // GIN instead (migration 29). From cursor 0 the user's every membership is asked for: the GIN at once (limit 0).
    private int ChangedGroupProbeLimit(long sinceVersion) => sinceVersion > 0 ? _database.Options.SyncChangedGroupProbes : 0;

    /// <summary>
    /// Below this many conversations edited since a resume's cursor (in the whole store), the resume probes the user's row in
    /// each (migration 31: ~7 buffers each); from this many on it compares every row of the user with its conversation
    /// (~3.7 buffers per conversation of the user), as before (stop 48, pg). A fresh sync (cursor 0) reads every row anyway.
    /// </summary>
    internal const int SyncEditedConversationProbes = 32;

    private static int EditedConversationProbeLimit(long sinceVersion) => sinceVersion > 0 ? SyncEditedConversationProbes : 0;

    /// <inheritdoc />
    public async Task<SyncSnapshot> GetChangesAsync(string userId, long sinceVersion, int maxMessagesPerConversation, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(maxMessagesPerConversation);
        var connection = await _database.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using (connection.ConfigureAwait(false))
        {
            // One snapshot: the version, the changed conversations and their messages agree with each other.
            var transaction = await connection.BeginTransactionAsync(IsolationLevel.RepeatableRead, cancellationToken).ConfigureAwait(false);
            await using (transaction.ConfigureAwait(false))
            {
                var version = await ReadMaxVersionAsync(connection, cancellationToken).ConfigureAwait(false);
                List<ConversationView> views;
                var probeLimit = ChangedGroupProbeLimit(sinceVersion);
                using (var command = Command(connection, ChangedViewsSql, P(userId), P(sinceVersion), P(probeLimit), P(EditedConversationProbeLimit(sinceVersion))))
                {
                    views = await ReadAllAsync(command, ReadView, cancellationToken).ConfigureAwait(false);
                }

                // A fresh sync (cursor 0) has every membership above (a member row's feed version is never 0): no advanced ones.
                if (sinceVersion > 0)
                {
                    using var command = Command(connection, AdvancedSuperGroupsSql, P(userId), P(sinceVersion), P(probeLimit));
                    views.AddRange(await ReadAllAsync(command, ReadView, cancellationToken).ConfigureAwait(false));
                }

                var byConversation = new Dictionary<string, List<StoredMessage>>(StringComparer.Ordinal);
                if (views.Count > 0 && maxMessagesPerConversation >= 0)
                {
                    using var command = Command(
                        connection,
                        ChangedMessagesSql,
                        P(userId),
                        P(sinceVersion),
                        P(views.Select(v => v.ConversationId).Distinct(StringComparer.Ordinal).ToArray()),
                        P(maxMessagesPerConversation + 1L));
                    foreach (var message in await ReadAllAsync(command, ReadMessage, cancellationToken).ConfigureAwait(false))
                    {
                        if (!byConversation.TryGetValue(message.ConversationId, out var list))
                        {
                            byConversation[message.ConversationId] = list = [];
                        }

                        list.Add(message);
                    }
                }

                var changes = new List<ConversationChange>(views.Count);
                foreach (var view in views)
                {
                    var messages = byConversation.GetValueOrDefault(view.ConversationId) ?? [];
                    var truncated = messages.Count > maxMessagesPerConversation;
                    if (truncated)
                    {
                        messages.RemoveAt(0); // ascending: the oldest of the window goes
                    }

                    changes.Add(new ConversationChange(view, messages, truncated));
                }

                await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
                return new SyncSnapshot(version, changes);
            }
        }
    }

    /// <inheritdoc />
    public async Task<(IReadOnlyList<ConversationView> Page, int Total)> ListConversationsAsync(string userId, int offset, int limit, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(offset);
        ArgumentOutOfRangeException.ThrowIfNegative(limit);
        var connection = await _database.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using (connection.ConfigureAwait(false))
        {
            // The page and the total come from one snapshot.
            var transaction = await connection.BeginTransactionAsync(IsolationLevel.RepeatableRead, cancellationToken).ConfigureAwait(false);
            await using (transaction.ConfigureAwait(false))
            {
                int total;
                using (var count = Command(connection, "SELECT COUNT(*) FROM members_of_user($1);", P(userId)))
                {
                    total = Convert.ToInt32(await count.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false), CultureInfo.InvariantCulture);
                }

                var page = new List<ConversationView>();
                if (limit > 0 && offset < total)
                {
                    using var command = Command(connection, PageViewsSql, P(userId), P((long)limit), P((long)offset));
                    page = await ReadAllAsync(command, ReadView, cancellationToken).ConfigureAwait(false);
                }

                await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
                return (page, total);
            }
        }
    }

    /// <inheritdoc />
    public async Task<long> GetUnreadTotalAsync(string userId, CancellationToken cancellationToken = default)
    {
        var rows = await _database.QueryAsync(
            """
            SELECT COALESCE(SUM(GREATEST(c.max_seq - m.read_seq, 0)), 0)::bigint
            FROM members_of_user($1) m JOIN conversation_keys k ON k.conv_key = m.conv_key JOIN conversations c ON c.conversation_id = k.conversation_id
            WHERE m.active AND NOT m.muted;
            """,
            r => r.GetInt64(0),
            cancellationToken,
            P(userId)).ConfigureAwait(false);
        return rows[0];
    }

    /// <inheritdoc />
    public async Task<ConversationView?> GetConversationViewAsync(string userId, string conversationId, CancellationToken cancellationToken = default)
    {
        var rows = await _database.QueryAsync(OneViewSql, ReadView, cancellationToken, P(userId), P(conversationId)).ConfigureAwait(false);
        return rows.Count == 0 ? null : rows[0];
    }

    private static async Task<long> ReadMaxVersionAsync(NpgsqlConnection connection, CancellationToken cancellationToken)
    {
        using var command = Command(connection, "SELECT max_version FROM feed_state WHERE id = 1;");
        return Convert.ToInt64(await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false), CultureInfo.InvariantCulture);
    }
}
