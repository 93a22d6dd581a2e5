using System.Text;
using Google.Protobuf;
using Microsoft.Data.Sqlite;
using Parley.Abstractions.Messaging;
using Parley.Core.Internal;
using Parley.Core.Messaging;
using Parley.Gateway.Protocols;
using Parley.Protocol.V1;
using Parley.Storage.Sqlite;
using ConversationKind = Parley.Abstractions.Messaging.ConversationKind;

namespace Parley.IntegrationTests;

/// <summary>
/// The connect-time sync written from SQLite's rows (<see cref="SyncRowEncoder"/>, issue 17 stop 37) sends byte for byte the
/// frames of the path through <see cref="StoredMessage"/>s and <see cref="SyncBatchEncoder"/>: a real store on a temp file with
/// edits, reactions (the viewer's among them), replies, revoked messages, mentions, empty and 20,000-character contents,
/// a left group, a late join and truncated conversations, fresh and resumed, in one batch and in many.
/// </summary>
public sealed class SyncRowEncoderTests : IAsyncLifetime
{
    private const string Viewer = "viewer";

    private readonly string _directory = Path.Combine(Path.GetTempPath(), "parley-syncrows-" + Guid.NewGuid().ToString("N"));
    private SqliteDatabase _database = null!;
    private SqliteMessageStore _store = null!;
    private long _version;
    private long _midVersion;
    private long _leftAfter;
    private long _lateFrom;

    public async Task InitializeAsync()
    {
        _database = new SqliteDatabase(new SqliteStoreOptions { DataSource = Path.Combine(_directory, "parley.db") });
        _store = new SqliteMessageStore(_database);
        await _store.InitializeAsync();
        await FillAsync();
    }

    public async Task DisposeAsync()
    {
        await _store.DisposeAsync();
        await _database.DisposeAsync();
        SqliteConnection.ClearAllPools();
        Directory.Delete(_directory, recursive: true);
    }

    [Fact]
    public async Task FromRows_WritesTheBytesOfTheStoredMessagePath_ForEveryKindOfRow()
    {
        // Fresh and resumed, every message in one frame and a frame per conversation or two, a window that truncates
        // most conversations and one that truncates none; the viewer (reactions of their own) and another member.
        foreach (var (user, cursor, perConversation, batchBytes) in new (string, long, int, int)[]
        {
            (Viewer, 0, 100, 256 * 1024),
            (Viewer, 0, 10, 256 * 1024),
            (Viewer, 0, 3, 600),
            (Viewer, _midVersion, 10, 256 * 1024),
            (Viewer, _midVersion, 1, 1),
            ("alice", 0, 20, 4096),
            ("carol", 0, 10, 256 * 1024),
            (Viewer, _version, 10, 256 * 1024),
        })
        {
            var (rows, rowTotals) = await FramesAsync(user, cursor, perConversation, batchBytes, fromRows: true);
            var (messages, messageTotals) = await FramesAsync(user, cursor, perConversation, batchBytes, fromRows: false);
            Assert.True(messageTotals == rowTotals, $"{user} since {cursor}, {perConversation} per conversation: {rowTotals} from rows, {messageTotals} from messages");
            Assert.Equal(messages.Count, rows.Count);
            for (var i = 0; i < rows.Count; i++)
            {
                Assert.True(messages[i].AsSpan().SequenceEqual(rows[i]), $"{user} since {cursor}, {perConversation} per conversation, {batchBytes} B batches: frame {i} of {rows.Count} differs");
            }
        }

        // The comparison covered what it claims: the viewer's fresh sync has every kind of row.
        var (frames, totals) = await FramesAsync(Viewer, 0, 10, 256 * 1024, fromRows: true);
        var synced = frames.SelectMany(f => ServerFrame.Parser.ParseFrom(f).SyncBatch.Conversations).ToList();
        var all = synced.SelectMany(c => c.Messages).ToList();
        Assert.Equal((int)totals.Messages, all.Count);
        Assert.Equal(totals.Conversations, synced.Count);
        Assert.Contains(synced, c => c.Truncated);
        Assert.Contains(synced, c => c.Conversation.MentionSeq > 0);
        Assert.Contains(all, m => m.Reactions.Any(r => r.ReactedByMe));
        Assert.Contains(all, m => m.EditCount > 0 && m.Content?.Text?.Text.StartsWith("edited", StringComparison.Ordinal) == true);
        Assert.Contains(all, m => m.ReplyCount > 0);
        Assert.Contains(all, m => m.Revoked && m.Content is null);
        Assert.Contains(all, m => m.Revoked && m.EditCount > 0);
        Assert.Contains(all, m => m.Content is null && !m.Revoked);
        Assert.Contains(all, m => m.Content?.Text?.Text.Length > 20_000);
        Assert.Contains(all, m => m.ClientMsgId.Contains('é', StringComparison.Ordinal));
        Assert.DoesNotContain(all, m => m.ConversationId == "g_left" && m.Seq > (ulong)_leftAfter);
        Assert.DoesNotContain(all, m => m.ConversationId == "g_late" && m.Seq < (ulong)_lateFrom);
        Assert.Contains(all, m => m.ConversationId == "g_left");
        Assert.Contains(all, m => m.ConversationId == "g_late");
    }

    /// <summary>
    /// Stop 39: a conversation's last message is written from its stored row (its head and stored content bytes) unless it has
    /// annotations; the sync's conversations still parse to what <see cref="ProtoMapper.ToProto(ConversationView, string?, Core.Business.NotificationAccountIds?, bool)"/>
    /// maps, last message (parsed content, edits, reactions as the viewer sees them) included, on both paths.
    /// </summary>
    [Fact]
    public async Task Sync_ConversationsWithTheirLastMessages_ParseToTheMappedConversations()
    {
        var spliced = 0;
        foreach (var (user, cursor) in new (string, long)[] { (Viewer, 0), (Viewer, _midVersion), ("alice", 0), ("carol", 0), ("bob", _midVersion) })
        {
            var expected = (await _store.GetChangesAsync(user, cursor, 10)).Changes.Select(c => ProtoMapper.ToProto(c.Conversation, user)).ToList();
            foreach (var fromRows in new[] { true, false })
            {
                var (frames, _) = await FramesAsync(user, cursor, 10, 4096, fromRows);
                var synced = frames.SelectMany(f => ServerFrame.Parser.ParseFrom(f).SyncBatch.Conversations).Select(c => c.Conversation).ToList();
                Assert.Equal(expected, synced);
            }

            spliced += expected.Count(c => c.LastMessage is { EditCount: 0, ReplyCount: 0, Reactions.Count: 0, Content: not null });
        }

        // The comparison covered last messages with content written from their rows.
        Assert.True(spliced >= 5, $"{spliced} last messages with content and no annotations");
    }

    /// <summary>
    /// Stop 39: the rows SQLite hands a sink (its own statement: no conversation id, content kind or reply seq columns; the
    /// conversation id from the view, encoded once per sync; the columns read through <c>SqliteNative</c>) are, field by
    /// field, the <see cref="StoredMessage"/>s of <see cref="IMessageStore.GetChangesAsync(string, long, int, CancellationToken)"/>,
    /// with the oldest row of a truncated conversation as the one the messages path drops.
    /// </summary>
    [Fact]
    public async Task Store_RowsToASink_AreTheStoredMessagesFieldByField()
    {
        var compared = 0;
        foreach (var (user, cursor, perConversation) in new (string, long, int)[]
        {
            (Viewer, 0, 100), (Viewer, 0, 3), (Viewer, _midVersion, 10), ("alice", 0, 20), ("carol", 0, 1), (Viewer, _version, 10),
        })
        {
            var sink = new RecordingSink();
            var rows = await _store.GetChangesAsync(user, cursor, perConversation, sink);
            var messages = await _store.GetChangesAsync(user, cursor, perConversation);
            var at = $"{user} since {cursor}, {perConversation} per conversation";
            Assert.Equal(messages.Version, rows.Version);
            Assert.Equal(messages.Changes.Select(c => (c.Conversation.ConversationId, c.Truncated)), rows.Changes.Select(c => (c.Conversation.ConversationId, c.Truncated)));
            Assert.All(rows.Changes, c => Assert.Empty(c.Messages));
            for (var i = 0; i < messages.Changes.Count; i++)
            {
                var got = sink.Rows.Where(r => r.Index == i).OrderBy(r => r.Message.Seq).Select(r => r.Message).ToList();
                if (messages.Changes[i].Truncated)
                {
                    got.RemoveAt(0);
                }

                var expected = messages.Changes[i].Messages;
                Assert.True(expected.Count == got.Count, $"{at}: {messages.Changes[i].Conversation.ConversationId} has {got.Count} rows, {expected.Count} messages");
                for (var k = 0; k < expected.Count; k++)
                {
                    var (e, g) = (expected[k], got[k]);
                    Assert.Equal(
                        (e.ConversationId, e.Seq, e.ServerMsgId, e.SenderId, e.ClientMsgId, e.ServerTime, e.Revoked, e.Version),
                        (g.ConversationId, g.Seq, g.ServerMsgId, g.SenderId, g.ClientMsgId, g.ServerTime, g.Revoked, g.Version));
                    Assert.True(e.Content.AsSpan().SequenceEqual(g.Content), $"{at}: content of {e.ConversationId}/{e.Seq}");
                    Assert.True((e.Annotations ?? []).AsSpan().SequenceEqual(g.Annotations ?? []), $"{at}: annotations of {e.ConversationId}/{e.Seq}");
                    compared++;
                }
            }
        }

        // It compared rows of every kind: multi-byte client ids, empty and long contents, annotations, revocations.
        Assert.True(compared > 300, $"{compared} rows compared");
    }

    private sealed class RecordingSink : ISyncRowSink
    {
        public List<(int Index, StoredMessage Message)> Rows { get; } = [];

        public void Add(int conversation, in SyncRow row) => Rows.Add((conversation, new StoredMessage(
            Encoding.UTF8.GetString(row.ConversationId),
            row.Seq,
            Encoding.UTF8.GetString(row.ServerMsgId),
            Encoding.UTF8.GetString(row.SenderId),
            Encoding.UTF8.GetString(row.ClientMsgId),
            row.ServerTime,
            0,
            row.Content.ToArray(),
            row.Revoked,
            row.Version)
        {
            Annotations = row.Annotations.IsEmpty ? null : row.Annotations.ToArray(),
        }));
    }

    [Fact]
    public void Encoder_RowsInAnyOrder_WritesWhatSyncBatchEncoderWrites()
    {
        // SQLite hands the rows over in conversation and seq order; the encoder sorts them when a store does not.
        var random = new Random(37);
        var conversations = Enumerable.Range(0, 6).Select(c => Enumerable.Range(1, c * 4).Select(seq => Row(random, $"g_c{c}", seq)).ToList()).ToList();
        var heads = conversations.Select((m, c) => new ConversationSync { Conversation = new Conversation { ConversationId = $"g_c{c}", MaxSeq = (ulong)m.Count }, Truncated = c % 2 == 1 }).ToList();

        var expected = new SyncBatchEncoder();
        for (var c = 0; c < conversations.Count; c++)
        {
            expected.Add(heads[c], heads[c].Truncated && conversations[c].Count > 0 ? conversations[c].Skip(1).ToList() : conversations[c], Viewer);
        }

        using var rows = new SyncRowEncoder(Viewer);
        foreach (var (m, c) in conversations.SelectMany((list, c) => list.Select(m => (m, c))).OrderBy(_ => random.Next()))
        {
            rows.Add(c, new SyncRow
            {
                ConversationId = Encoding.UTF8.GetBytes(m.ConversationId),
                Seq = m.Seq,
                ServerMsgId = Encoding.UTF8.GetBytes(m.ServerMsgId),
                SenderId = Encoding.UTF8.GetBytes(m.SenderId),
                ClientMsgId = Encoding.UTF8.GetBytes(m.ClientMsgId),
                ServerTime = m.ServerTime,
                Content = m.Content,
                Revoked = m.Revoked,
                Version = m.Version,
                Annotations = m.Annotations,
            });
        }

        rows.Complete(conversations.Count);
        for (var c = 0; c < conversations.Count; c++)
        {
            rows.Add(heads[c], c);
            Assert.Equal(heads[c].Truncated ? Math.Max(0, conversations[c].Count - 1) : conversations[c].Count, rows.MessageCount(c, heads[c].Truncated));
        }

        Assert.Equal(expected.Size, rows.Size);
        var (a, aLength) = expected.Encode();
        var (b, bLength) = rows.Encode();
        Assert.True(a.AsSpan(0, aLength).SequenceEqual(b.AsSpan(0, bLength)), "The frames differ.");
        Assert.Equal(conversations.Sum(c => c.Count) - 3, ServerFrame.Parser.ParseFrom(b, 0, bLength).SyncBatch.Conversations.Sum(c => c.Messages.Count));
    }

    private async Task<(List<byte[]> Frames, SyncTotals Totals)> FramesAsync(string user, long cursor, int perConversation, int batchBytes, bool fromRows)
    {
        var frames = new List<byte[]>();
        ValueTask<bool> Write(byte[] buffer, int length)
        {
            frames.Add(buffer.AsSpan(0, length).ToArray());
            Parley.Gateway.Protocols.SyncBuffers.Pool.Return(buffer);
            return ValueTask.FromResult(true);
        }

        var totals = fromRows
            ? await ConnectSync.WriteFromRowsAsync(_store, user, cursor, perConversation, batchBytes, null, Write)
            : await ConnectSync.WriteFromMessagesAsync(_store, user, cursor, perConversation, batchBytes, null, Write);
        return (frames, totals);
    }

    private async Task FillAsync()
    {
        var random = new Random(17);
        string[] members = [Viewer, "alice", "bob"];
        await CommitAsync(b =>
        {
            for (var g = 0; g < 8; g++)
            {
                b.Conversations.Add(new NewConversation($"g_{g}", ConversationKind.Group, $"grp{g}", $"group {g}", "alice", 1000, [.. members, .. g % 2 == 0 ? new[] { "carol" } : []], Next()));
            }

            b.Conversations.Add(new NewConversation("g_left", ConversationKind.Group, "grpleft", "left", "alice", 1000, members, Next()));
            b.Conversations.Add(new NewConversation("g_late", ConversationKind.Group, "grplate", "late", "alice", 1000, ["alice", "bob"], Next()));
            b.Conversations.Add(new NewConversation("si_alice_viewer", ConversationKind.Direct, null, "", "alice", 1000, ["alice", Viewer], Next()));
        });

        string[] conversations = ["g_0", "g_1", "g_2", "g_3", "g_4", "g_5", "g_6", "g_7", "g_left", "g_late", "si_alice_viewer"];
        var seqs = conversations.ToDictionary(c => c, _ => 0L);
        async Task SendAsync(int count)
        {
            for (var i = 0; i < count; i++)
            {
                var conversation = conversations[random.Next(conversations.Length)];
                var seq = ++seqs[conversation];
                var sender = conversation == "g_late" ? (seq % 2 == 0 ? "alice" : "bob") : conversation.StartsWith("si_", StringComparison.Ordinal) ? (seq % 2 == 0 ? Viewer : "alice") : members[random.Next(3)];
                var message = Row(random, conversation, seq, sender, Next(), annotated: false);
                await CommitAsync(b => b.Messages.Add(random.Next(8) switch
                {
                    0 => message with { MentionedUserIds = [Viewer] },
                    1 => message with { MentionAll = true },
                    2 when seq > 1 => message with { ReplyToSeq = seq - 1 },
                    _ => message,
                }));
            }
        }

        await SendAsync(120);
        _leftAfter = seqs["g_left"];
        _lateFrom = seqs["g_late"] + 1;
        await CommitAsync(b => b.MemberChanges.Add(new MemberChange("g_left", Viewer, MemberRole.Member, "", 0, 0, "", false, 1, _leftAfter, Next())));
        await CommitAsync(b => b.MemberChanges.Add(new MemberChange("g_late", Viewer, MemberRole.Member, "", 0, 0, "", true, _lateFrom, 0, Next())));
        _midVersion = _version;
        await SendAsync(120);

        // Edits, reactions and reply counts on earlier messages; revocations, of an annotated message among them.
        for (var i = 0; i < 40; i++)
        {
            var conversation = conversations[random.Next(conversations.Length)];
            var seq = 1 + random.Next((int)seqs[conversation]);
            var a = new MessageAnnotations { ReplyCount = (uint)random.Next(3) };
            if (random.Next(2) == 0)
            {
                a.EditCount = 1;
                a.EditedTime = 5000 + i;
            }

            a.Reactions.Add(new StoredReaction { Emoji = "👍", UserIds = { "alice", random.Next(2) == 0 ? Viewer : "bob" } });
            a.Reactions.Add(new StoredReaction { Emoji = "🎉", UserIds = { "bob" } });
            var update = new MessageUpdate(conversation, seq, MessageChanges.Write(a), Next());
            await CommitAsync(b => b.MessageUpdates.Add(a.EditCount > 0 ? update with { Content = Text($"edited {i}") } : update));
            if (i % 5 == 0)
            {
                await CommitAsync(b => b.Revocations.Add(new Revocation(conversation, seq)));
            }
        }

        await CommitAsync(b => b.Revocations.Add(new Revocation("g_3", 2)));
    }

    private async Task CommitAsync(Action<CommitBatch> fill)
    {
        var batch = new CommitBatch();
        fill(batch);
        await _store.CommitAsync(batch);
    }

    private long Next() => ++_version;

    private static byte[] Text(string text) => new Content { Text = new TextContent { Text = text } }.ToByteArray();

    // Text of every length class (1-, 2- and 3-byte length varints) with multi-byte characters, or no content; ids with
    // multi-byte characters; with annotated: edits and reactions (the viewer's among them) or a reply count.
    private static StoredMessage Row(Random random, string conversationId, long seq, string sender = "u_sender", long version = 0, bool annotated = true)
    {
        var kind = random.Next(6);
        var text = new string('x', kind switch { 0 => 5, 1 => 200, 2 => 20_000, _ => random.Next(1, 400) }) + "é✓";
        byte[]? annotations = null;
        if (annotated && kind >= 4)
        {
            var a = new MessageAnnotations { EditCount = 2, EditedTime = 1234, ReplyCount = 3 };
            a.Reactions.Add(new StoredReaction { Emoji = "👍", UserIds = { "u_a", Viewer, "u_b" } });
            annotations = MessageChanges.Write(a);
        }

        return new StoredMessage(conversationId, seq, $"s{Guid.NewGuid():N}", sender, $"c-é-{seq}", 1_700_000_000_000 + seq, 1, kind == 3 ? [] : Text(text), annotated && kind == 5, version == 0 ? seq * 10 : version)
        {
            Annotations = annotations,
        };
    }
}
