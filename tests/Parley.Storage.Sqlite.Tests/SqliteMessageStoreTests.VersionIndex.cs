using Parley.Abstractions.Messaging;
using Parley.Storage.Compliance;

namespace Parley.Storage.Sqlite.Tests;

/// <summary>
/// ADR 0034 (stop 47): the messages' version index holds only changed rows (<c>ix_messages_changed</c>) and a sparse anchor
/// (<c>ix_messages_anchor</c>, every 64th seq); every reader of a version range returns exactly the rows, in the same order,
/// that a scan of the table by version returns (the oracle: the same predicate with <c>NOT INDEXED</c>), for every cursor.
/// </summary>
public sealed partial class SqliteMessageStoreTests
{
    /// <summary>
    /// A 1:1 of 300 messages (more than four anchors) committed in batches of 1 to 9 interleaved with a short 1:1 (fewer
    /// than 64 messages, no anchor), a retried batch (a duplicate client id fails it; its entries are then committed one by
    /// one with their versions, as the commit pipeline does, the duplicate refused), edits and revokes of old and new rows
    /// at several versions, and the long one's first 100 rows without a search id (rows from before migration 15, across an
    /// anchor). For every cursor from 0 to the last version: the sync's statement (two snapshot versions, the newest 5 and
    /// 200), the derived flush's sender read seqs and head version, and search recovery (several marks, ceilings and chunk
    /// sizes) return what the oracle returns.
    /// </summary>
    [Fact]
    public async Task Readers_ReturnTheRowsOfAFullVersionIndex_ForEveryCursor()
    {
        await CreateDirectAsync("long", "alice", "bob");
        await CreateDirectAsync("short", "alice", "carol");
        var random = new Random(34);
        long longSeq = 0, shortSeq = 0;
        void Fill(CommitBatch b, int n)
        {
            for (var i = 0; i < n; i++)
            {
                if (random.Next(5) == 0 && shortSeq < 40)
                {
                    b.Messages.Add(Message("short", ++shortSeq, shortSeq % 2 == 0 ? "alice" : "carol"));
                }
                else
                {
                    b.Messages.Add(Message("long", ++longSeq, random.Next(3) == 0 ? "alice" : "bob"));
                }
            }
        }

        while (longSeq < 150)
        {
            await CommitAsync(b => Fill(b, random.Next(1, 10)));
        }

        // A retried batch: it fails on its duplicate; its entries committed one by one with the versions they were given.
        var failing = new CommitBatch();
        failing.Messages.Add(Message("long", ++longSeq, "bob"));
        failing.Messages.Add(Message("short", ++shortSeq, "carol"));
        failing.Messages.Add(Message("long", longSeq + 1, "bob", clientMsgId: $"c-long-{longSeq}"));
        await Assert.ThrowsAsync<StoreConflictException>(() => Store.CommitAsync(failing));
        foreach (var entry in failing.Messages)
        {
            var alone = new CommitBatch();
            alone.Messages.Add(entry);
            if (entry.Seq == longSeq + 1)
            {
                await Assert.ThrowsAsync<StoreConflictException>(() => Store.CommitAsync(alone));
            }
            else
            {
                await Store.CommitAsync(alone);
            }
        }

        while (longSeq < 300)
        {
            await CommitAsync(b => Fill(b, random.Next(1, 10)));
            if (random.Next(2) == 0)
            {
                // An edit of an older row (or of one in this stretch), or a revoke with its version raise.
                var seq = random.Next(2) == 0 ? random.Next(1, (int)longSeq + 1) : random.Next(101, (int)longSeq + 1);
                if (random.Next(2) == 0)
                {
                    await CommitAsync(b => b.MessageUpdates.Add(new MessageUpdate("long", seq, [1, 2], NextVersion()) { Content = Body("edited") }));
                }
                else
                {
                    await CommitAsync(b =>
                    {
                        b.Revocations.Add(new Revocation("long", seq));
                        b.MessageUpdates.Add(new MessageUpdate("long", seq, [3], NextVersion()));
                    });
                }
            }
        }

        await CommitAsync(b => b.MessageUpdates.Add(new MessageUpdate("short", 2, [4], NextVersion()) { Content = Body("edited") }));
        await Store.GetChangesAsync("alice", 0, 1); // flushes the derived rows

        using var connection = _database.OpenRaw();
        long Scalar(string sql)
        {
            using var command = connection.CreateCommand();
            command.CommandText = sql;
            return Convert.ToInt64(command.ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture);
        }

        // Rows from before migration 15: no search id (all in the changed index, as every row was in the version index).
        Scalar("UPDATE messages SET search_id = NULL WHERE conv_key = (SELECT conv_key FROM conversations WHERE conversation_id = 'long') AND seq <= 100");
        Assert.Equal(1, Scalar("SELECT COUNT(*) FROM sqlite_master WHERE name = 'ix_messages_changed'"));
        Assert.Equal(0, Scalar("SELECT COUNT(*) FROM sqlite_master WHERE name = 'ix_messages_conv_version'"));
        Assert.True(Scalar("SELECT COUNT(*) FROM messages WHERE search_id IS NOT NULL AND version <> search_id") >= 8, "edited rows with a search id");
        var max = Scalar("SELECT MAX(version) FROM messages");

        List<string> Rows(string sql, params (string Name, object Value)[] parameters)
        {
            using var command = connection.CreateCommand();
            command.CommandText = sql;
            foreach (var (name, value) in parameters)
            {
                command.Parameters.AddWithValue(name, value);
            }

            var rows = new List<string>();
            using var reader = command.ExecuteReader();
            while (reader.Read())
            {
                var values = new object[reader.FieldCount];
                reader.GetValues(values);
                rows.Add(string.Join('|', values.Select(v => v is byte[] bytes ? Convert.ToHexString(bytes) : Convert.ToString(v, System.Globalization.CultureInfo.InvariantCulture))));
            }

            return rows;
        }

        var checks = 0;
        foreach (var conversation in new[] { "long", "short" })
        {
            const string Key = "(SELECT conv_key FROM conversations WHERE conversation_id = $conv)";
            for (var since = 0L; since <= max; since++)
            {
                foreach (var until in new[] { max, max - 7 })
                {
                    foreach (var limit in new[] { 5, 200 })
                    {
                        var expected = Rows(
                            "SELECT seq FROM messages NOT INDEXED WHERE conv_key = " + Key + " AND version > $since AND version <= $until ORDER BY seq DESC LIMIT $limit",
                            ("$conv", conversation), ("$since", since), ("$until", until), ("$limit", limit));
                        expected.Sort((a, b) => long.Parse(a, System.Globalization.CultureInfo.InvariantCulture).CompareTo(long.Parse(b, System.Globalization.CultureInfo.InvariantCulture)));
                        var actual = Rows(
                            SqliteMessageStore.ChangedMessagesSql,
                            ("$convs", $"[\"{conversation}\"]"), ("$user", "alice"), ("$since", since), ("$until", until), ("$limit", limit)).Select(r => r.Split('|')[2]).ToList();
                        actual.Sort((a, b) => long.Parse(a, System.Globalization.CultureInfo.InvariantCulture).CompareTo(long.Parse(b, System.Globalization.CultureInfo.InvariantCulture)));
                        Assert.True(expected.SequenceEqual(actual), $"sync {conversation} since {since} until {until} limit {limit}: expected [{string.Join(',', expected)}], got [{string.Join(',', actual)}]");
                        checks++;
                    }
                }

                // The derived flush: each sender's read seq from their messages above the mark, the conversation's head version.
                const string OldSendersRead = """
                    UPDATE members SET read_seq = MAX(read_seq, COALESCE(
                        (SELECT MAX(m.seq) FROM messages m NOT INDEXED WHERE m.conv_key = $key AND m.version > $through AND m.sender_id = members.user_id), 0))
                    WHERE conv_key = $key;
                    """;
                var key = Scalar($"SELECT conv_key FROM conversations WHERE conversation_id = '{conversation}'");
                List<string> Derive(string sql)
                {
                    using var transaction = connection.BeginTransaction();
                    using (var reset = connection.CreateCommand())
                    {
                        reset.CommandText = "UPDATE members SET read_seq = 0 WHERE conv_key = $key; UPDATE conversations SET head_version = 0 WHERE conv_key = $key;";
                        reset.Parameters.AddWithValue("$key", key);
                        reset.ExecuteNonQuery();
                    }

                    using (var derive = connection.CreateCommand())
                    {
                        derive.CommandText = sql;
                        derive.Parameters.AddWithValue("$key", key);
                        derive.Parameters.AddWithValue("$through", since);
                        derive.ExecuteNonQuery();
                    }

                    var read = Rows("SELECT user_id, read_seq FROM members WHERE conv_key = $key ORDER BY user_id", ("$key", key));
                    transaction.Rollback();
                    return read;
                }

                Assert.Equal(Derive(OldSendersRead), Derive(SqliteMessageStore.DeriveSendersReadSql));
                checks++;

                // Search recovery: in version order from the cursor, above a mark, through a ceiling, a chunk at a time.
                const string OldRecovery = """
                    SELECT m.search_id, m.seq, m.content_kind, m.content, m.version FROM messages m NOT INDEXED
                    WHERE m.conv_key = (SELECT conv_key FROM conversations WHERE conversation_id = $conv) AND m.version > $after AND m.search_id > $mark AND m.search_id <= $ceiling AND m.revoked = 0
                      AND NOT EXISTS (SELECT 1 FROM message_search_content s WHERE s.id = m.search_id)
                    ORDER BY m.version LIMIT $limit;
                    """;
                foreach (var mark in new[] { 0L, since / 2, Math.Max(0, since - 70) })
                {
                    foreach (var ceiling in new[] { max, max - 20 })
                    {
                        foreach (var limit in new[] { 3, 1000 })
                        {
                            (string, object)[] p = [("$conv", conversation), ("$after", since), ("$mark", mark), ("$ceiling", ceiling), ("$limit", limit)];
                            Assert.Equal(Rows(OldRecovery, p), Rows(SqliteMessageStore.RecoveryMessagesSql, p));
                            checks++;
                        }
                    }
                }
            }

            using (var transaction = connection.BeginTransaction())
            {
                Scalar($"UPDATE conversations SET head_version = 0 WHERE conversation_id = '{conversation}'");
                using (var derive = connection.CreateCommand())
                {
                    derive.CommandText = SqliteMessageStore.DeriveConversationSql;
                    derive.Parameters.AddWithValue("$key", Scalar($"SELECT conv_key FROM conversations WHERE conversation_id = '{conversation}'"));
                    derive.ExecuteNonQuery();
                }

                Assert.Equal(
                    Scalar($"SELECT MAX(version) FROM messages NOT INDEXED WHERE conv_key = (SELECT conv_key FROM conversations WHERE conversation_id = '{conversation}')"),
                    Scalar($"SELECT head_version FROM conversations WHERE conversation_id = '{conversation}'"));
                transaction.Rollback();
            }
        }

        Assert.True(checks > 10_000, $"{checks} checks");
    }

    /// <summary>
    /// Stop 48: an edit (a revoke, a reaction) of an old message above the cursor made an incremental sync read the history
    /// between it and the new rows: the walk for the newest $limit rows started at the lowest changed row's seq, and the scan
    /// of the rows read that range again. Now the changed rows below the new ones' range are read by their key. A
    /// 3,000-message 1:1 and a 130-message one (both past an anchor, so both take the same path), each with its 10th message
    /// edited and three new messages above the cursor: the long one's statement reads at most 20 pages more than the short
    /// one's (before: the 3,000 rows between, twice), and both return the edit and the three new rows; with a smaller $limit
    /// the newest of them, the edit included when it is among them, as a scan by version.
    /// </summary>
    [Fact]
    public async Task Sync_WithAnEditOfAnOldMessageAboveTheCursor_ReadsTheEditAndTheNewRows_NotTheHistoryBetween()
    {
        await CreateDirectAsync("long", "alice", "bob");
        await CreateDirectAsync("short", "alice", "carol");
        for (var from = 1; from <= 3000; from += 500)
        {
            var first = from;
            await CommitAsync(b => b.Messages.AddRange(Enumerable.Range(first, 500).Select(seq => Message("long", seq, "bob"))));
        }

        await CommitAsync(b => b.Messages.AddRange(Enumerable.Range(1, 130).Select(seq => Message("short", seq, "carol"))));
        var cursor = (await Store.GetChangesAsync("alice", 0, 1)).Version;
        await CommitAsync(b => b.MessageUpdates.Add(new MessageUpdate("long", 10, [1, 2], NextVersion()) { Content = Body("edited") }));
        await CommitAsync(b => b.MessageUpdates.Add(new MessageUpdate("short", 10, [1, 2], NextVersion()) { Content = Body("edited") }));
        await CommitAsync(b =>
        {
            b.Messages.AddRange(Enumerable.Range(3001, 3).Select(seq => Message("long", seq, "bob")));
            b.Messages.AddRange(Enumerable.Range(131, 3).Select(seq => Message("short", seq, "carol")));
        });
        var until = (await Store.GetChangesAsync("alice", cursor, 10)).Version;

        using var connection = _database.OpenRaw();
        List<long> Scan(string conversation, int limit)
        {
            using var command = connection.CreateCommand();
            command.CommandText = "SELECT seq FROM messages NOT INDEXED WHERE conv_key = (SELECT conv_key FROM conversations WHERE conversation_id = $conv) AND version > $since AND version <= $until ORDER BY seq DESC LIMIT $limit";
            command.Parameters.AddWithValue("$conv", conversation);
            command.Parameters.AddWithValue("$since", cursor);
            command.Parameters.AddWithValue("$until", until);
            command.Parameters.AddWithValue("$limit", limit);
            var seqs = new List<long>();
            using (var reader = command.ExecuteReader())
            {
                while (reader.Read())
                {
                    seqs.Add(reader.GetInt64(0));
                }
            }

            seqs.Sort();
            return seqs;
        }

        (long Pages, List<long> Seqs) Sync(string conversation, int limit) => SyncMessagePages(connection, conversation, cursor, until, limit);

        var longSync = Sync("long", 200);
        var shortSync = Sync("short", 200);
        _output.WriteLine($"page visits of the sync statement, an old message edited and three new above the cursor: 3,003-message 1:1 {longSync.Pages}, 133-message 1:1 {shortSync.Pages}");
        Assert.Equal([10L, 3001L, 3002L, 3003L], longSync.Seqs);
        Assert.Equal([10L, 131L, 132L, 133L], shortSync.Seqs);
        Assert.True(longSync.Pages <= shortSync.Pages + 20, $"long {longSync.Pages} pages, short {shortSync.Pages}");
        foreach (var limit in new[] { 1, 3, 4, 5 })
        {
            Assert.Equal(Scan("long", limit), Sync("long", limit).Seqs);
            Assert.Equal(Scan("short", limit), Sync("short", limit).Seqs);
        }

        // Through the store: the edit with its new content, and the new rows.
        var change = (await Store.GetChangesAsync("alice", cursor, 10)).Changes.Single(c => c.Conversation.ConversationId == "long");
        Assert.Equal([10L, 3001L, 3002L, 3003L], change.Messages.Select(m => m.Seq));
        Assert.Equal(Body("edited"), change.Messages[0].Content);
        Assert.False(change.Truncated);
    }
}
