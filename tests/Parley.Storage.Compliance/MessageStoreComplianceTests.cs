using System.Text;
using Parley.Abstractions.Messaging;

namespace Parley.Storage.Compliance;

/// <summary>
/// The behaviour every <see cref="IMessageStore"/> provider must show (SQLite and PostgreSQL run it unchanged). A
/// provider's test class derives from this and supplies a fresh, empty store per test.
/// </summary>
public abstract partial class MessageStoreComplianceTests : IAsyncLifetime
{
    private long _version;

    protected IMessageStore Store { get; private set; } = null!;

    /// <summary>Creates a new store over empty storage. The base class initializes and disposes it.</summary>
    protected abstract IMessageStore CreateStore();

    /// <summary>Runs statements against the provider's storage (standard SQL that both dialects accept).</summary>
    protected abstract Task ExecuteSqlAsync(string sql);

    /// <summary>The provider's migration that rewrites 1:1 conversation ids into the escaped form (ADR 0010).</summary>
    protected abstract int DirectConversationIdMigration { get; }

    /// <summary>
    /// Makes the storage forget that the 1:1 id migration ran, so the next initialisation runs it again over the rows.
    /// A provider whose later migrations changed the tables that migration rewrites (SQLite 26: members keyed by an
    /// integer conversation key) puts them back in the layout that migration knows, and forgets those migrations too,
    /// so they run again after it.
    /// </summary>
    protected virtual Task RewindDirectConversationIdMigrationAsync() =>
        ExecuteSqlAsync($"DELETE FROM schema_migrations WHERE version = {DirectConversationIdMigration};");

    public virtual async Task InitializeAsync()
    {
        Store = CreateStore();
        await Store.InitializeAsync();
    }

    public virtual async Task DisposeAsync()
    {
        if (Store is IAsyncDisposable disposable)
        {
            await disposable.DisposeAsync();
        }
    }

    protected long NextVersion() => ++_version;

    protected static byte[] Body(string text) => Encoding.UTF8.GetBytes(text);

    protected NewConversation Direct(string id, string a, string b, long createdAt = 1000) =>
        new(id, ConversationKind.Direct, null, "", a, createdAt, [a, b], NextVersion());

    protected NewConversation Group(string id, string creator, IReadOnlyList<string> members, long createdAt = 1000) =>
        new(id, ConversationKind.Group, "g-" + id, "Group " + id, creator, createdAt, members, NextVersion());

    protected StoredMessage Message(string conversationId, long seq, string sender, string? clientMsgId = null, long? serverTime = null, string? text = null) =>
        new(conversationId, seq, $"s-{conversationId}-{seq}", sender, clientMsgId ?? $"c-{conversationId}-{seq}", serverTime ?? 2000 + seq, 1, Body(text ?? $"hello {seq}"), false, NextVersion());

    protected async Task CommitAsync(Action<CommitBatch> fill)
    {
        var batch = new CommitBatch();
        fill(batch);
        await Store.CommitAsync(batch);
    }

    protected async Task CreateDirectAsync(string id, string a, string b) => await CommitAsync(x => x.Conversations.Add(Direct(id, a, b)));

    [StoreFact]
    public async Task Migration_DirectConversationIds_RewritesLegacyIdsFromTheMembers_KeepsPlainOnes_AndFreesTheCollidingPair()
    {
        // Rows as a server before the escaped ids wrote them: the pair (x, y_z) took si_x_y_z, which is also what the
        // pair (x_y, z) computed (that pair got NOT_MEMBER forever); a:b with c; and plain ids that stay as they are.
        await CommitAsync(b => b.Conversations.AddRange([Direct("si_x_y_z", "x", "y_z"), Direct("si_a:b_c", "a:b", "c"), Direct("si_alice_bob", "alice", "bob")]));
        await CommitAsync(b => b.Messages.AddRange([Message("si_x_y_z", 1, "x"), Message("si_x_y_z", 2, "y_z"), Message("si_a:b_c", 1, "c"), Message("si_alice_bob", 1, "bob")]));
        await CommitAsync(b => b.ReadCursors.Add(new ReadCursorUpdate("si_x_y_z", "x", 2, NextVersion())));
        var before = await Store.GetMaxVersionAsync();

        // Forget that the migration ran and open the storage again: it runs over the legacy rows.
        await RewindDirectConversationIdMigrationAsync();
        if (Store is IAsyncDisposable disposable)
        {
            await disposable.DisposeAsync();
        }

        Store = CreateStore();
        await Store.InitializeAsync();

        Assert.Null(await Store.GetConversationAsync("si_x_y_z"));
        Assert.Null(await Store.GetConversationAsync("si_a:b_c"));
        var renamed = await Store.GetConversationAsync("si_x_y:_z");
        Assert.NotNull(renamed);
        Assert.Equal(2, renamed.MaxSeq);
        Assert.Equal(["x", "y_z"], (await Store.GetMembersAsync("si_x_y:_z")).Select(m => m.UserId).Order(StringComparer.Ordinal));
        Assert.Equal(2, (await Store.GetMembersAsync("si_x_y:_z")).Single(m => m.UserId == "x").ReadSeq);
        var messages = await Store.ReadMessagesAsync("si_x_y:_z", 1, ReadDirection.Forward, 10);
        Assert.Equal([1L, 2L], messages.Select(m => m.Seq));
        Assert.All(messages, m => Assert.Equal("si_x_y:_z", m.ConversationId));
        Assert.Equal([1L], (await Store.ReadMessagesAsync("si_a::b_c", 1, ReadDirection.Forward, 10)).Select(m => m.Seq));
        Assert.Empty(await Store.ReadMessagesAsync("si_x_y_z", 1, ReadDirection.Forward, 10));
        Assert.NotNull(await Store.GetConversationAsync("si_alice_bob"));

        // A device of x resuming from before the migration learns the conversation under its new id; bob's feed is untouched.
        Assert.True(await Store.GetMaxVersionAsync() > before);
        Assert.Contains((await Store.GetChangesAsync("x", before, 10)).Changes, c => c.Conversation.ConversationId == "si_x_y:_z");
        Assert.Empty((await Store.GetChangesAsync("bob", before, 10)).Changes);

        // The pair that collided before now gets a conversation of its own.
        _version = await Store.GetMaxVersionAsync();
        await CreateDirectAsync("si_x:_y_z", "x_y", "z");
        await CommitAsync(b => b.Messages.Add(Message("si_x:_y_z", 1, "z")));
        Assert.Equal(["x_y", "z"], (await Store.GetMembersAsync("si_x:_y_z")).Select(m => m.UserId).Order(StringComparer.Ordinal));
        Assert.Equal(2, (await Store.GetConversationAsync("si_x_y:_z"))!.MaxSeq);
    }

    [StoreFact]
    public async Task GetMaxVersion_EmptyStore_IsZero()
    {
        Assert.Equal(0, await Store.GetMaxVersionAsync());
        Assert.Empty((await Store.GetChangesAsync("alice", 0, 10)).Changes);
    }

    [StoreFact]
    public async Task Commit_ConversationAndMessage_ReadsBackEveryField()
    {
        var conversation = Group("c1", "alice", ["alice", "bob", "carol"], createdAt: 1234);
        var message = Message("c1", 1, "alice", "cm-1", 5000, "hi all");
        await CommitAsync(b =>
        {
            b.Conversations.Add(conversation);
            b.Messages.Add(message);
        });

        var record = await Store.GetConversationAsync("c1");
        Assert.Equal(new ConversationRecord("c1", ConversationKind.Group, "g-c1", "Group c1", "alice", 1234, 1), record);
        Assert.Null(await Store.GetConversationAsync("nope"));

        var stored = await Store.GetMessageAsync("c1", 1);
        Assert.NotNull(stored);
        AssertMessage(message, stored);
        Assert.Null(await Store.GetMessageAsync("c1", 2));

        var byClientId = await Store.FindByClientMsgIdAsync("c1", "alice", "cm-1");
        Assert.NotNull(byClientId);
        AssertMessage(message, byClientId);
        Assert.Null(await Store.FindByClientMsgIdAsync("c1", "bob", "cm-1"));

        var members = await Store.GetMembersAsync("c1");
        Assert.Equal(["alice", "bob", "carol"], members.Select(m => m.UserId).Order(StringComparer.Ordinal));
        Assert.Empty(await Store.GetMembersAsync("nope"));
    }

    [StoreFact]
    public async Task Commit_Messages_RaiseMaxSeqSenderCursorAndEveryMembersFeedVersion()
    {
        await CommitAsync(b => b.Conversations.Add(Group("c1", "alice", ["alice", "bob", "carol"])));
        StoredMessage last = null!;
        await CommitAsync(b =>
        {
            b.Messages.Add(Message("c1", 1, "alice", serverTime: 7000));
            b.Messages.Add(Message("c1", 2, "bob", serverTime: 8000));
            b.Messages.Add(last = Message("c1", 3, "alice", serverTime: 9000));
        });

        var members = (await Store.GetMembersAsync("c1")).ToDictionary(m => m.UserId);
        Assert.Equal(3, members["alice"].ReadSeq);
        Assert.Equal(2, members["bob"].ReadSeq);
        Assert.Equal(0, members["carol"].ReadSeq);
        Assert.All(members.Values, m => Assert.Equal(last.Version, m.FeedVersion));
        Assert.Equal(3, (await Store.GetConversationAsync("c1"))!.MaxSeq);
        Assert.Equal(last.Version, await Store.GetMaxVersionAsync());

        var view = await Store.GetConversationViewAsync("carol", "c1");
        Assert.NotNull(view);
        Assert.Equal(3, view.MaxSeq);
        Assert.Equal(3, view.Unread);
        Assert.Equal(9000, view.UpdatedAt);
        Assert.Equal(3, view.MemberCount);
        Assert.NotNull(view.LastMessage);
        AssertMessage(last, view.LastMessage);
        Assert.Null(view.PeerUserId);
        Assert.Equal(0, view.PeerReadSeq);
    }

    [StoreFact]
    public async Task GetConversationView_Direct_FillsPeerAndLastMessage()
    {
        await CreateDirectAsync("d1", "alice", "bob");
        var empty = await Store.GetConversationViewAsync("alice", "d1");
        Assert.NotNull(empty);
        Assert.Null(empty.LastMessage);
        Assert.Equal(1000, empty.UpdatedAt);

        await CommitAsync(b =>
        {
            b.Messages.Add(Message("d1", 1, "alice"));
            b.Messages.Add(Message("d1", 2, "bob"));
        });

        var alice = await Store.GetConversationViewAsync("alice", "d1");
        Assert.NotNull(alice);
        Assert.Equal(ConversationKind.Direct, alice.Kind);
        Assert.Equal("bob", alice.PeerUserId);
        Assert.Equal(2, alice.PeerReadSeq);
        Assert.Equal(1, alice.ReadSeq);
        Assert.Equal(1, alice.Unread);
        Assert.Equal(2, alice.MemberCount);
        Assert.Equal(2, alice.LastMessage!.Seq);

        var bob = await Store.GetConversationViewAsync("bob", "d1");
        Assert.Equal("alice", bob!.PeerUserId);
        Assert.Equal(1, bob.PeerReadSeq);
    }

    [StoreFact]
    public async Task GetConversationView_NonMember_ReturnsNull()
    {
        await CreateDirectAsync("d1", "alice", "bob");
        Assert.Null(await Store.GetConversationViewAsync("mallory", "d1"));
        Assert.Null(await Store.GetConversationViewAsync("alice", "missing"));
    }

    [StoreFact]
    public async Task Commit_DuplicateSeq_ThrowsConflictAndAppliesNothingFromTheBatch()
    {
        await CreateDirectAsync("d1", "alice", "bob");
        var original = Message("d1", 1, "alice", text: "original");
        await CommitAsync(b => b.Messages.Add(original));
        var versionBefore = await Store.GetMaxVersionAsync();

        var batch = new CommitBatch();
        batch.Conversations.Add(Direct("d2", "alice", "carol"));
        batch.Messages.Add(Message("d1", 2, "bob", text: "ok"));
        batch.Messages.Add(Message("d1", 1, "bob", text: "duplicate seq"));
        batch.ReadCursors.Add(new ReadCursorUpdate("d1", "bob", 1, NextVersion()));
        var ex = await Assert.ThrowsAsync<StoreConflictException>(() => Store.CommitAsync(batch));
        Assert.NotNull(ex.InnerException);

        await AssertNothingAppliedAsync(original, versionBefore);
        await AssertStillUsableAsync();
    }

    [StoreFact]
    public async Task Commit_DuplicateClientMsgId_ThrowsConflictAndAppliesNothingFromTheBatch()
    {
        await CreateDirectAsync("d1", "alice", "bob");
        var original = Message("d1", 1, "alice", clientMsgId: "same", text: "original");
        await CommitAsync(b => b.Messages.Add(original));
        var versionBefore = await Store.GetMaxVersionAsync();

        var batch = new CommitBatch();
        batch.Conversations.Add(Direct("d2", "alice", "carol"));
        batch.Messages.Add(Message("d1", 2, "bob", text: "ok"));
        batch.Messages.Add(Message("d1", 3, "alice", clientMsgId: "same", text: "retry"));
        batch.ReadCursors.Add(new ReadCursorUpdate("d1", "bob", 1, NextVersion()));
        await Assert.ThrowsAsync<StoreConflictException>(() => Store.CommitAsync(batch));

        await AssertNothingAppliedAsync(original, versionBefore);
        Assert.Null(await Store.GetMessageAsync("d1", 3));
        await AssertStillUsableAsync();
    }

    [StoreFact]
    public async Task Commit_ExistingConversation_ThrowsConflict()
    {
        await CreateDirectAsync("d1", "alice", "bob");
        await Assert.ThrowsAsync<StoreConflictException>(() => CreateDirectAsync("d1", "alice", "carol"));
        Assert.Equal(["alice", "bob"], (await Store.GetMembersAsync("d1")).Select(m => m.UserId).Order(StringComparer.Ordinal));
        await AssertStillUsableAsync();
    }

    [StoreFact]
    public async Task Commit_SameClientMsgIdFromOtherSenderOrOtherConversation_IsAccepted()
    {
        await CreateDirectAsync("d1", "alice", "bob");
        await CreateDirectAsync("d2", "alice", "bob");
        await CommitAsync(b => b.Messages.Add(Message("d1", 1, "alice", clientMsgId: "same")));
        await CommitAsync(b => b.Messages.Add(Message("d1", 2, "bob", clientMsgId: "same")));
        await CommitAsync(b => b.Messages.Add(Message("d2", 1, "alice", clientMsgId: "same")));

        Assert.Equal(2, (await Store.FindByClientMsgIdAsync("d1", "bob", "same"))!.Seq);
        Assert.Equal(1, (await Store.FindByClientMsgIdAsync("d1", "alice", "same"))!.Seq);
        Assert.Equal("d2", (await Store.FindByClientMsgIdAsync("d2", "alice", "same"))!.ConversationId);
    }

    [StoreFact]
    public async Task ReadCursor_NeverMovesBackward_ButBumpsFeedVersion()
    {
        await CreateDirectAsync("d1", "alice", "bob");
        await CommitAsync(b =>
        {
            for (var seq = 1; seq <= 5; seq++)
            {
                b.Messages.Add(Message("d1", seq, "alice"));
            }
        });

        var forward = new ReadCursorUpdate("d1", "bob", 4, NextVersion());
        await CommitAsync(b => b.ReadCursors.Add(forward));
        var bob = (await Store.GetMembersAsync("d1")).Single(m => m.UserId == "bob");
        Assert.Equal(4, bob.ReadSeq);
        Assert.Equal(forward.Version, bob.FeedVersion);

        var backward = new ReadCursorUpdate("d1", "bob", 2, NextVersion());
        await CommitAsync(b => b.ReadCursors.Add(backward));
        bob = (await Store.GetMembersAsync("d1")).Single(m => m.UserId == "bob");
        Assert.Equal(4, bob.ReadSeq);
        Assert.Equal(backward.Version, bob.FeedVersion);
        Assert.Equal(backward.Version, await Store.GetMaxVersionAsync());

        // The sender's own message never lowers its cursor either.
        await CommitAsync(b => b.Messages.Add(Message("d1", 6, "bob")));
        Assert.Equal(6, (await Store.GetMembersAsync("d1")).Single(m => m.UserId == "bob").ReadSeq);
        Assert.Equal(5, (await Store.GetConversationViewAsync("bob", "d1"))!.PeerReadSeq);
    }

    [StoreFact]
    public async Task Revocation_SetsRevokedAndRemovesContent()
    {
        await CreateDirectAsync("d1", "alice", "bob");
        await CommitAsync(b =>
        {
            b.Messages.Add(Message("d1", 1, "alice", text: "secret"));
            b.Messages.Add(Message("d1", 2, "alice", text: "stays"));
        });

        await CommitAsync(b => b.Revocations.Add(new Revocation("d1", 1)));

        var revoked = await Store.GetMessageAsync("d1", 1);
        Assert.NotNull(revoked);
        Assert.True(revoked.Revoked);
        Assert.Empty(revoked.Content);
        Assert.Equal("s-d1-1", revoked.ServerMsgId);
        var kept = await Store.GetMessageAsync("d1", 2);
        Assert.False(kept!.Revoked);
        Assert.Equal("stays", Encoding.UTF8.GetString(kept.Content));
    }

    [StoreFact]
    public async Task Settings_UpdateOnlyGivenFields_AndBumpFeedVersion()
    {
        await CreateDirectAsync("d1", "alice", "bob");
        await CommitAsync(b => b.Settings.Add(new MemberSettingsUpdate("d1", "alice", true, null, NextVersion())));
        var muted = new MemberSettingsUpdate("d1", "alice", null, true, NextVersion());
        await CommitAsync(b => b.Settings.Add(muted));

        var alice = (await Store.GetMembersAsync("d1")).Single(m => m.UserId == "alice");
        Assert.True(alice.Pinned);
        Assert.True(alice.Muted);
        Assert.Equal(muted.Version, alice.FeedVersion);

        await CommitAsync(b => b.Settings.Add(new MemberSettingsUpdate("d1", "alice", false, null, NextVersion())));
        var view = await Store.GetConversationViewAsync("alice", "d1");
        Assert.False(view!.Pinned);
        Assert.True(view.Muted);
        Assert.False((await Store.GetMembersAsync("d1")).Single(m => m.UserId == "bob").Pinned);
    }

    [StoreFact]
    public async Task Commit_EmptyContent_RoundTripsAsEmpty()
    {
        await CreateDirectAsync("d1", "alice", "bob");
        var message = Message("d1", 1, "alice") with { Content = [] };
        await CommitAsync(b => b.Messages.Add(message));
        Assert.Empty((await Store.GetMessageAsync("d1", 1))!.Content);
    }

    [StoreTheory]
    [InlineData(0, ReadDirection.Backward, 3, new long[] { 8, 9, 10 })]
    [InlineData(0, ReadDirection.Backward, 50, new long[] { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10 })]
    [InlineData(5, ReadDirection.Backward, 3, new long[] { 3, 4, 5 })]
    [InlineData(2, ReadDirection.Backward, 5, new long[] { 1, 2 })]
    [InlineData(5, ReadDirection.Forward, 3, new long[] { 5, 6, 7 })]
    [InlineData(9, ReadDirection.Forward, 5, new long[] { 9, 10 })]
    [InlineData(0, ReadDirection.Forward, 2, new long[] { 1, 2 })]
    [InlineData(11, ReadDirection.Forward, 5, new long[0])]
    [InlineData(5, ReadDirection.Forward, 0, new long[0])]
    public async Task ReadMessages_DirectionAndLimit_ReturnsAscendingWindow(long fromSeq, ReadDirection direction, int limit, long[] expected)
    {
        await CreateDirectAsync("d1", "alice", "bob");
        await CreateDirectAsync("d2", "alice", "bob");
        await CommitAsync(b =>
        {
            for (var seq = 1; seq <= 10; seq++)
            {
                b.Messages.Add(Message("d1", seq, seq % 2 == 0 ? "alice" : "bob"));
                b.Messages.Add(Message("d2", seq, "alice"));
            }
        });

        var messages = await Store.ReadMessagesAsync("d1", fromSeq, direction, limit);
        Assert.Equal(expected, messages.Select(m => m.Seq));
        Assert.All(messages, m => Assert.Equal("d1", m.ConversationId));
    }

    [StoreFact]
    public async Task GetChanges_UserWithThousandConversations_ReturnsExactlyTheChangedOnes()
    {
        await CommitAsync(b =>
        {
            for (var i = 0; i < 1000; i++)
            {
                b.Conversations.Add(Direct($"d{i:D4}", "alice", $"peer{i}"));
            }
        });
        var since = await Store.GetMaxVersionAsync();
        Assert.Equal(1000, (await Store.GetChangesAsync("alice", 0, 5)).Changes.Count);

        var changed = new[] { 7, 93, 150, 222, 404, 500, 611, 777, 880, 999 };
        foreach (var i in changed.Reverse())
        {
            await CommitAsync(b => b.Messages.Add(Message($"d{i:D4}", 1, $"peer{i}")));
        }

        var snapshot = await Store.GetChangesAsync("alice", since, 5);
        Assert.Equal(changed.Reverse().Select(i => $"d{i:D4}"), snapshot.Changes.Select(c => c.Conversation.ConversationId));
        Assert.All(snapshot.Changes, c =>
        {
            Assert.Equal(1, c.Conversation.Unread);
            Assert.Equal(1, Assert.Single(c.Messages).Seq);
            Assert.False(c.Truncated);
        });
        Assert.Equal(await Store.GetMaxVersionAsync(), snapshot.Version);
        Assert.Empty((await Store.GetChangesAsync("alice", snapshot.Version, 5)).Changes);

        // A peer sees only its own conversation.
        Assert.Equal("d0404", Assert.Single((await Store.GetChangesAsync("peer404", since, 5)).Changes).Conversation.ConversationId);
    }

    [StoreFact]
    public async Task GetChanges_MoreMessagesThanLimit_ReturnsNewestAscendingAndTruncated()
    {
        await CreateDirectAsync("d1", "alice", "bob");
        await CommitAsync(b => b.Messages.Add(Message("d1", 1, "alice")));
        var since = await Store.GetMaxVersionAsync();
        await CommitAsync(b =>
        {
            for (var seq = 2; seq <= 8; seq++)
            {
                b.Messages.Add(Message("d1", seq, "alice"));
            }
        });

        var change = Assert.Single((await Store.GetChangesAsync("bob", since, 3)).Changes);
        Assert.True(change.Truncated);
        Assert.Equal([6L, 7L, 8L], change.Messages.Select(m => m.Seq));

        var exact = Assert.Single((await Store.GetChangesAsync("bob", since, 7)).Changes);
        Assert.False(exact.Truncated);
        Assert.Equal([2L, 3L, 4L, 5L, 6L, 7L, 8L], exact.Messages.Select(m => m.Seq));
    }

    [StoreFact]
    public async Task GetChanges_CursorAndSettingsOnlyChange_ReturnsConversationWithoutMessages()
    {
        await CreateDirectAsync("d1", "alice", "bob");
        await CreateDirectAsync("d2", "alice", "carol");
        await CommitAsync(b => b.Messages.Add(Message("d1", 1, "bob")));
        var since = await Store.GetMaxVersionAsync();

        var cursor = new ReadCursorUpdate("d1", "alice", 1, NextVersion());
        var pin = new MemberSettingsUpdate("d2", "alice", true, null, NextVersion());
        await CommitAsync(b =>
        {
            b.ReadCursors.Add(cursor);
            b.Settings.Add(pin);
        });

        var snapshot = await Store.GetChangesAsync("alice", since, 10);
        Assert.Equal(pin.Version, snapshot.Version);
        Assert.Equal(["d1", "d2"], snapshot.Changes.Select(c => c.Conversation.ConversationId));
        Assert.All(snapshot.Changes, c => Assert.Empty(c.Messages));
        Assert.Equal(0, snapshot.Changes[0].Conversation.Unread);
        Assert.True(snapshot.Changes[1].Conversation.Pinned);
        Assert.Empty((await Store.GetChangesAsync("bob", since, 10)).Changes);
    }

    [StoreFact]
    public async Task ListConversations_PinnedFirstThenNewestActivity_PagesWithTotalAndUnread()
    {
        await CommitAsync(b =>
        {
            for (var i = 1; i <= 5; i++)
            {
                b.Conversations.Add(Direct($"d{i}", "alice", $"p{i}"));
            }
        });

        // Activity order (newest first): d2, d4, d1; d3 and d5 only have their creation time. d5 is pinned.
        await CommitAsync(b => b.Messages.Add(Message("d1", 1, "p1", serverTime: 10_000)));
        await CommitAsync(b => b.Messages.Add(Message("d4", 1, "p4", serverTime: 20_000)));
        await CommitAsync(b =>
        {
            b.Messages.Add(Message("d2", 1, "p2", serverTime: 30_000));
            b.Messages.Add(Message("d2", 2, "alice", serverTime: 30_001));
            b.Messages.Add(Message("d2", 3, "p2", serverTime: 30_002));
        });
        await CommitAsync(b => b.Settings.Add(new MemberSettingsUpdate("d5", "alice", true, null, NextVersion())));

        var (all, total) = await Store.ListConversationsAsync("alice", 0, 10);
        Assert.Equal(5, total);
        Assert.Equal(["d5", "d2", "d4", "d1", "d3"], all.Select(v => v.ConversationId));
        Assert.Equal([0L, 1L, 1L, 1L, 0L], all.Select(v => v.Unread));
        Assert.True(all[0].Pinned);

        var (page, pageTotal) = await Store.ListConversationsAsync("alice", 2, 2);
        Assert.Equal(5, pageTotal);
        Assert.Equal(["d4", "d1"], page.Select(v => v.ConversationId));

        var (beyond, beyondTotal) = await Store.ListConversationsAsync("alice", 10, 2);
        Assert.Empty(beyond);
        Assert.Equal(5, beyondTotal);

        var (p3, p3Total) = await Store.ListConversationsAsync("p3", 0, 10);
        Assert.Equal(1, p3Total);
        Assert.Equal("d3", Assert.Single(p3).ConversationId);
        Assert.Equal(0, (await Store.ListConversationsAsync("nobody", 0, 10)).Total);
    }

    // Two conversations whose last messages carry the same millisecond (a fast client's sends, stop 40's CI): the one
    // committed later is the newer, whatever their ids.
    [StoreFact]
    public async Task ListConversations_SameMillisecond_NewerCommitFirst()
    {
        await CommitAsync(b =>
        {
            b.Conversations.Add(Direct("dz", "alice", "pz"));
            b.Conversations.Add(Direct("da", "alice", "pa"));
        });
        await CommitAsync(b => b.Messages.Add(Message("da", 1, "alice", serverTime: 50_000)));
        await CommitAsync(b => b.Messages.Add(Message("dz", 1, "alice", serverTime: 50_000)));
        Assert.Equal(["dz", "da"], (await Store.ListConversationsAsync("alice", 0, 10)).Page.Select(v => v.ConversationId));

        await CommitAsync(b => b.Messages.Add(Message("da", 2, "alice", serverTime: 50_000)));
        Assert.Equal(["da", "dz"], (await Store.ListConversationsAsync("alice", 0, 10)).Page.Select(v => v.ConversationId));
    }

    [StoreFact]
    public async Task GetChanges_WhileCommitsRun_EverySnapshotIsConsistent()
    {
        const int Messages = 200;
        await CreateDirectAsync("d1", "alice", "bob");
        var baseVersion = await Store.GetMaxVersionAsync();

        var writerDone = 0;
        var writer = Task.Run(async () =>
        {
            try
            {
                for (var seq = 1; seq <= Messages; seq++)
                {
                    var message = Message("d1", seq, "alice");
                    await Store.CommitAsync(Batch(message));
                }
            }
            finally
            {
                Volatile.Write(ref writerDone, 1);
            }
        });

        var readers = Enumerable.Range(0, 6).Select(_ => Task.Run(async () =>
        {
            var snapshots = 0;
            do
            {
                var snapshot = await Store.GetChangesAsync("bob", 0, Messages + 10);
                var change = Assert.Single(snapshot.Changes);

                // Every message up to the snapshot's version is visible, and nothing newer is.
                var expected = snapshot.Version - baseVersion;
                Assert.Equal(expected, change.Conversation.MaxSeq);
                Assert.Equal(expected, change.Messages.Count);
                Assert.All(change.Messages, m => Assert.True(m.Version <= snapshot.Version));
                Assert.Equal(expected == 0 ? null : expected, change.Conversation.LastMessage?.Seq);

                var window = await Store.ReadMessagesAsync("d1", 0, ReadDirection.Backward, 20);
                Assert.Equal(window.Select(m => m.Seq).Order(), window.Select(m => m.Seq));
                snapshots++;
            }
            while (Volatile.Read(ref writerDone) == 0);
            return snapshots;
        })).ToArray();

        await writer;
        var counts = await Task.WhenAll(readers);
        Assert.All(counts, c => Assert.True(c > 0));
        Assert.Equal(Messages, (await Store.GetConversationAsync("d1"))!.MaxSeq);
        Assert.Equal(baseVersion + Messages, (await Store.GetChangesAsync("bob", 0, 1)).Version);
    }

    private static CommitBatch Batch(StoredMessage message)
    {
        var batch = new CommitBatch();
        batch.Messages.Add(message);
        return batch;
    }

    private async Task AssertNothingAppliedAsync(StoredMessage original, long versionBefore)
    {
        Assert.Null(await Store.GetConversationAsync("d2"));
        Assert.Empty(await Store.GetMembersAsync("d2"));
        Assert.Null(await Store.GetMessageAsync("d1", 2));
        var kept = await Store.GetMessageAsync("d1", 1);
        Assert.NotNull(kept);
        AssertMessage(original, kept);
        Assert.Equal(1, (await Store.GetConversationAsync("d1"))!.MaxSeq);
        var bob = (await Store.GetMembersAsync("d1")).Single(m => m.UserId == "bob");
        Assert.Equal(0, bob.ReadSeq);
        Assert.Equal(versionBefore, bob.FeedVersion);
        Assert.Equal(versionBefore, await Store.GetMaxVersionAsync());
    }

    private async Task AssertStillUsableAsync()
    {
        await CreateDirectAsync("after", "alice", "bob");
        var message = Message("after", 1, "bob", text: "after the failure");
        await CommitAsync(b => b.Messages.Add(message));
        AssertMessage(message, (await Store.GetMessageAsync("after", 1))!);
        Assert.Equal(message.Version, await Store.GetMaxVersionAsync());
    }

    protected static void AssertMessage(StoredMessage expected, StoredMessage actual)
    {
        Assert.Equal(expected with { Content = [] }, actual with { Content = [] });
        Assert.Equal(expected.Content, actual.Content);
    }
}
