using Parley.Abstractions.Messaging;
using Parley.Storage.Compliance;

namespace Parley.Storage.Postgres.Tests;

/// <summary>
/// The message store compliance suite, unchanged, against PostgreSQL with the compaction forced after every commit
/// (<see cref="PostgresStoreOptions.CompactMemberPagesAfterCommit"/>, ADR 0021): every super group's members live in
/// packed pages between commits, so every read path meets slots and every write path copies a slot into a row first.
/// </summary>
public sealed class PostgresCompactedMessageStoreTests() : PostgresComplianceFixture(o => o.CompactMemberPagesAfterCommit = true)
{
    // The hook really packs: a super group's members are all in pages after a commit, none in rows.
    [StoreFact]
    public async Task ForcedCompaction_ASuperGroupsMembersLiveInPagesAfterEachCommit()
    {
        var conversation = Group("sgc", "owner", ["owner", "m1", "m2"]);
        await CommitAsync(b =>
        {
            b.Conversations.Add(conversation);
            b.Groups.Add(new GroupRecord("g-sgc", "sgc", "Super", "", "", "", "{}", "owner", GroupJoinPolicy.Free, false, false, true, false, 1000, 1000, 3, conversation.Version)
            {
                Kind = GroupKind.Super,
            });
        });
        await CommitAsync(b => b.ReadCursors.Add(new ReadCursorUpdate("sgc", "m1", 0, NextVersion())));

        Assert.Equal(0L, Convert.ToInt64(await Postgres.ScalarAsync("SELECT COUNT(*) FROM members m JOIN conversation_keys k USING (conv_key) WHERE k.conversation_id = 'sgc'"), System.Globalization.CultureInfo.InvariantCulture));
        Assert.Equal(3L, Convert.ToInt64(await Postgres.ScalarAsync("SELECT SUM(cardinality(user_ids)) FROM member_pages"), System.Globalization.CultureInfo.InvariantCulture));
        Assert.Equal(["m1", "m2", "owner"], (await Store.GetMembersAsync("sgc")).Select(m => m.UserId));
    }
}
