using System.Data;
using System.Globalization;
using Parley.Abstractions.Messaging;

namespace Parley.Storage.Compliance;

/// <summary>
/// What the migration that keys members by an integer conversation key (ADR 0017: SQLite 26, PostgreSQL 23) must keep,
/// checked the same way on both providers. Each provider's test seeds, in its own SQL, the same rows at the version
/// before: a 1:1 <c>si_alice_bob</c> (alice pinned, read 3; bob muted, read 1), a normal group <c>sg_norm</c> (owner, alice
/// read 4), a super group <c>sg_super</c> (owner; carol an admin, read 2; dave left with the period 1-4; erin invited by
/// "legacy", visible from 6; alice), and a member row <c>gone</c>/zed whose conversation row is missing.
/// </summary>
public static class MemberKeyMigrationChecks
{
    /// <summary>
    /// The store API reads the migrated rows (members with roles and inviters, the role index, the roster at connect, a 1:1
    /// view with its peer, the sync of every membership), then writes after the migration land on the right rows: a new
    /// conversation <c>sg_new</c> (owner, zed) takes a new key, frank joins <c>sg_super</c>, carol's read cursor moves to 9
    /// (feed version 22).
    /// </summary>
    public static async Task StoreReadsAndWritesTheMigratedMembersAsync<TStore>(TStore store)
        where TStore : IMessageStore, ISuperGroupStore
    {
        ArgumentNullException.ThrowIfNull(store);
        var members = await store.GetMembersAsync("sg_super");
        Assert.Equal(["alice", "carol", "dave", "erin", "owner"], members.Select(m => m.UserId));
        Assert.Equal([MemberRole.Member, MemberRole.Admin, MemberRole.Member, MemberRole.Member, MemberRole.Owner], members.Select(m => m.Role));
        Assert.Equal(["owner", "owner", "owner", "legacy", ""], members.Select(m => m.InviterId));
        Assert.Equal([true, true, false, true, true], members.Select(m => m.Active));
        Assert.Equal(6, members.Single(m => m.UserId == "erin").VisibleFrom);
        var admins = await store.SearchMembersAsync("sg_super", new MemberQuery("", MemberRole.Admin, "", 10));
        Assert.Equal(["carol", "owner"], admins.Members.Select(m => m.UserId));
        Assert.Equal(2, admins.Total);
        Assert.Equal(["sg_super"], (await store.GetSuperGroupMembershipsAsync("alice")).ConversationIds);
        Assert.Empty((await store.GetSuperGroupMembershipsAsync("dave")).ConversationIds);
        var dave = Assert.Single(await store.GetMembersByIdsAsync("sg_super", ["dave"]));
        Assert.Equal([new MemberPeriod("dave", 1, 4)], dave.Periods);
        var direct = await store.GetConversationViewAsync("alice", "si_alice_bob");
        Assert.NotNull(direct);
        Assert.Equal(("bob", 1L, 3L, true), (direct.PeerUserId, direct.PeerReadSeq, direct.ReadSeq, direct.Pinned));
        Assert.Equal(["sg_norm", "sg_super", "si_alice_bob"], (await store.GetChangesAsync("alice", 0, 10)).Changes.Select(c => c.Conversation.ConversationId).Order(StringComparer.Ordinal));
        Assert.Equal(7, (await store.GetConversationViewAsync("carol", "sg_super"))!.Unread);

        await store.CommitAsync(new CommitBatch { Conversations = { new NewConversation("sg_new", ConversationKind.Group, "new", "New", "owner", 10, ["owner", "zed"], 20) } });
        var change = new CommitBatch();
        change.MemberChanges.Add(new MemberChange("sg_super", "frank", MemberRole.Member, "", 0, 11, "owner", true, 10, 0, 21));
        change.ReadCursors.Add(new ReadCursorUpdate("sg_super", "carol", 9, 22));
        await store.CommitAsync(change);
        Assert.Equal(["alice", "carol", "dave", "erin", "frank", "owner"], (await store.GetMembersAsync("sg_super")).Select(m => m.UserId));
        Assert.Equal(9, (await store.GetMembersAsync("sg_super")).Single(m => m.UserId == "carol").ReadSeq);
        Assert.Equal(4, (await store.GetMembersAsync("sg_norm")).Single(m => m.UserId == "alice").ReadSeq);
        Assert.Equal(["owner", "zed"], (await store.GetMembersAsync("sg_new")).Select(m => m.UserId));
    }

    /// <summary>
    /// The member rows after the migration as the rows before it were read (<c>conversation_id, {columns}</c>), the key
    /// standing for the id, without what <see cref="StoreReadsAndWritesTheMigratedMembersAsync"/> added (sg_new, frank);
    /// ordered by conversation and user, <paramref name="collate"/> (e.g. <c> COLLATE "C"</c>) after each. <paramref name="keys"/>
    /// is the table that maps a key to its id (SQLite's <c>conversations</c> since its migration 30).
    /// </summary>
    public static string KeyedRowsQuery(string columns, string collate = "", string keys = "conversation_keys") =>
        $"SELECT k.conversation_id, m.{columns.Replace(", ", ", m.", StringComparison.Ordinal)} "
        + $"FROM members m JOIN {keys} k ON k.conv_key = m.conv_key WHERE k.conversation_id <> 'sg_new' AND NOT (k.conversation_id = 'sg_super' AND m.user_id = 'frank') "
        + $"ORDER BY k.conversation_id{collate}, m.user_id{collate}";

    /// <summary>One row as text, its values joined by '|' (invariant culture), to compare rows before and after a migration.</summary>
    public static string Row(IDataRecord record)
    {
        ArgumentNullException.ThrowIfNull(record);
        return string.Join('|', Enumerable.Range(0, record.FieldCount).Select(i => Convert.ToString(record.GetValue(i), CultureInfo.InvariantCulture)));
    }
}
