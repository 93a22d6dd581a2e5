using System.Globalization;
using Parley.Abstractions.Messaging;

namespace Parley.Storage.Postgres.Tests;

/// <summary>
/// The commits the packed super-group tests are made of (PostgresMemberPagesTests, PostgresMemberSyncTests): versions,
/// a super group created with its members in chunks, messages and edits, and where a group's members are (rows, slots).
/// </summary>
internal sealed class SuperGroupCommits(PostgresMessageStore store, TestPostgres postgres)
{
    private long _version;

    /// <summary>The last version handed out.</summary>
    public long Version => Interlocked.Read(ref _version);

    /// <summary>The next version (thread-safe: concurrent writers each get their own).</summary>
    public long Next() => Interlocked.Increment(ref _version);

    public async Task CommitAsync(Action<CommitBatch> fill)
    {
        var batch = new CommitBatch();
        fill(batch);
        await store.CommitAsync(batch);
    }

    public static MemberChange Joined(string conversationId, string userId, long version, MemberRole role = MemberRole.Member, long visibleFrom = 1) =>
        new(conversationId, userId, role, "nick-" + userId, 0, 1000 + userId.Length, "inviter-" + userId[..1], true, visibleFrom, 0, version);

    /// <summary>A super group owned by <paramref name="owner"/> with <paramref name="members"/> (the owner among them or not), 250 per commit.</summary>
    public async Task CreateSuperGroupAsync(string id, string owner, IReadOnlyList<string> members)
    {
        var version = Next();
        var count = members.Append(owner).Distinct(StringComparer.Ordinal).Count();
        await CommitAsync(b =>
        {
            b.Conversations.Add(new NewConversation(id, ConversationKind.Group, "g-" + id, "Super " + id, owner, 1000, [owner], version));
            b.Groups.Add(new GroupRecord("g-" + id, id, "Super " + id, "", "", "", "{}", owner, GroupJoinPolicy.Free, false, false, true, false, 1000, 1000, count, version)
            {
                Kind = GroupKind.Super,
            });
            b.MemberChanges.Add(Joined(id, owner, version, MemberRole.Owner));
        });
        foreach (var chunk in members.Where(m => m != owner).Chunk(250))
        {
            var v = Next();
            await CommitAsync(b => b.MemberChanges.AddRange(chunk.Select(m => Joined(id, m, v))));
        }
    }

    public StoredMessage Message(string conversationId, long seq, string sender, IReadOnlyList<string>? mentioned = null) =>
        new(conversationId, seq, $"s-{conversationId}-{seq}", sender, $"c-{conversationId}-{seq}", 2000 + seq, 1, System.Text.Encoding.UTF8.GetBytes("m" + seq), false, Next())
        {
            MentionedUserIds = mentioned,
        };

    public async Task SendAsync(string conversationId, long seq, string sender, IReadOnlyList<string>? mentioned = null) =>
        await CommitAsync(b =>
        {
            b.ReadDiffusion.Add(conversationId);
            b.Messages.Add(Message(conversationId, seq, sender, mentioned));
        });

    public async Task EditAsync(string conversationId, long seq) =>
        await CommitAsync(b => b.MessageUpdates.Add(new MessageUpdate(conversationId, seq, [], Next()) { Content = System.Text.Encoding.UTF8.GetBytes("edited " + seq) }));

    /// <summary>The group's member rows (a packed group keeps only the ones changed since its last compaction).</summary>
    public async Task<long> RowsAsync(string conversationId) =>
        Convert.ToInt64(await postgres.ScalarAsync($"SELECT COUNT(*) FROM members m JOIN conversation_keys k USING (conv_key) WHERE k.conversation_id = '{conversationId}'"), CultureInfo.InvariantCulture);

    /// <summary>The group's packed member slots.</summary>
    public async Task<long> SlotsAsync(string conversationId) =>
        Convert.ToInt64(await postgres.ScalarAsync($"SELECT COALESCE(SUM(cardinality(p.user_ids)), 0) FROM member_pages p JOIN conversation_keys k USING (conv_key) WHERE k.conversation_id = '{conversationId}'"), CultureInfo.InvariantCulture);
}
