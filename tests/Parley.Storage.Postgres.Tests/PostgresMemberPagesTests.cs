using System.Globalization;
using Parley.Abstractions.Messaging;
using Parley.Storage.Compliance;

using static Parley.Storage.Postgres.Tests.SuperGroupCommits;

namespace Parley.Storage.Postgres.Tests;

/// <summary>
/// Packed super-group members (ADR 0021, migration 25): a member's row wins over its slot, on every read path; a write
/// after a compaction copies the slot into a row first (no value lost); keyset pages walk pages and rows in one order.
/// The compaction is called explicitly here (CompactSuperGroupAsync), so rows and slots coexist between calls.
/// </summary>
public sealed class PostgresMemberPagesTests : IAsyncLifetime
{
    private readonly TestPostgres _postgres = new();
    private PostgresMessageStore _store = null!;
    private SuperGroupCommits _g = null!;

    public async Task InitializeAsync()
    {
        // Imports into rows (MemberImportPages 0): these tests compact a row delta themselves (PostgresMemberImportTests: into pages).
        _store = new PostgresMessageStore(_postgres.Open(configure: o => o.MemberImportPages = 0));
        await _store.InitializeAsync();
        _g = new SuperGroupCommits(_store, _postgres);
    }

    public async Task DisposeAsync() => await _postgres.DisposeAsync();

    private async Task<List<MemberRecord>> PageAllAsync(string conversationId, MemberQuery query)
    {
        var all = new List<MemberRecord>();
        var after = query.After;
        for (var pages = 0; pages < 1000; pages++)
        {
            var page = await _store.SearchMembersAsync(conversationId, query with { After = after });
            all.AddRange(page.Members);
            if (page.NextAfter is null)
            {
                return all;
            }

            after = page.NextAfter;
        }

        throw new InvalidOperationException("the pages never ended");
    }

    [StoreFact]
    public async Task Compaction_KeepsEveryValue_AndRowsWinOverSlots_ForRoleChangeCursorSettingsKickAndRejoin()
    {
        await _g.CreateSuperGroupAsync("sg", "owner", ["owner", "a", "b", "c", "d", "e"]);
        await _g.SendAsync("sg", 1, "owner");
        await _g.SendAsync("sg", 2, "owner");
        await _g.SendAsync("sg", 3, "owner", ["c"]);
        await _g.CommitAsync(b => b.ReadCursors.Add(new ReadCursorUpdate("sg", "a", 2, _g.Next())));
        await _g.CommitAsync(b => b.Settings.Add(new MemberSettingsUpdate("sg", "b", true, true, _g.Next()) { MentionsOnly = true }));
        var before = await _store.GetMembersAsync("sg");
        var viewBefore = await _store.GetConversationViewAsync("c", "sg");

        Assert.Equal(6, await _store.CompactSuperGroupAsync("sg"));
        Assert.Equal((0L, 6L), (await _g.RowsAsync("sg"), await _g.SlotsAsync("sg")));
        Assert.Equal(0, await _store.CompactSuperGroupAsync("sg")); // nothing left to move

        // Every value back through every read path, from the slots alone.
        Assert.Equal(before, await _store.GetMembersAsync("sg"));
        static object Seen(ConversationView? v) => (v!.ReadSeq, v.MaxSeq, v.MentionSeq, v.Muted, v.Pinned, v.MentionsOnly, v.MemberCount, v.LastMessage?.Seq);
        Assert.Equal(Seen(viewBefore), Seen(await _store.GetConversationViewAsync("c", "sg")));
        Assert.Equal(3L, (await _store.GetConversationViewAsync("c", "sg"))!.MentionSeq);
        Assert.Equal(before.Where(m => m.UserId is "a" or "b"), (await _store.GetMembersByIdsAsync("sg", ["b", "a", "nobody", "a"])).Select(m => m.Member).OrderBy(m => m.UserId, StringComparer.Ordinal));
        Assert.Equal(["sg"], (await _store.GetSuperGroupMembershipsAsync("a")).ConversationIds);
        var (listed, total) = await _store.ListConversationsAsync("b", 0, 10);
        Assert.Equal((1, true, true, true), (total, listed[0].Pinned, listed[0].Muted, listed[0].MentionsOnly));
        Assert.Equal((1L, 3L, 0L), (await _store.GetUnreadTotalAsync("a"), await _store.GetUnreadTotalAsync("c"), await _store.GetUnreadTotalAsync("b"))); // b muted
        Assert.Equal(["a", "b", "c", "d", "e", "owner"], (await PageAllAsync("sg", new MemberQuery("", MemberRole.Member, "", 2))).Select(m => m.UserId));
        Assert.Equal(["owner"], (await _store.SearchMembersAsync("sg", new MemberQuery("", MemberRole.Admin, "", 10))).Members.Select(m => m.UserId));
        Assert.Equal(3, (await _store.GetChangesAsync("e", 0, 10)).Changes.Single().Messages.Count);

        // After the compaction: a role change (the grain's whole record), a read cursor, a setting, a kick. Each writes a
        // row copied from the slot first: the fields the change does not carry keep their slot values.
        var d = before.Single(m => m.UserId == "d");
        await _g.CommitAsync(b => b.MemberChanges.Add(new MemberChange("sg", "d", MemberRole.Admin, d.Nickname, d.MutedUntil, d.JoinedAt, d.InviterId, true, d.VisibleFrom, 0, _g.Next())));
        await _g.CommitAsync(b => b.ReadCursors.Add(new ReadCursorUpdate("sg", "b", 3, _g.Next())));
        await _g.CommitAsync(b => b.Settings.Add(new MemberSettingsUpdate("sg", "a", null, true, _g.Next())));
        var e = before.Single(m => m.UserId == "e");
        await _g.CommitAsync(b => b.MemberChanges.Add(new MemberChange("sg", "e", MemberRole.Member, e.Nickname, 0, e.JoinedAt, e.InviterId, false, e.VisibleFrom, 3, _g.Next())));
        await _g.SendAsync("sg", 4, "d");
        Assert.Equal(4L, await _g.RowsAsync("sg")); // d, b, a, e: the rest still slots only

        async Task AssertAfterChangesAsync()
        {
            var now = (await _store.GetMembersAsync("sg")).ToDictionary(m => m.UserId);
            Assert.Equal((MemberRole.Admin, 4L, "nick-d"), (now["d"].Role, now["d"].ReadSeq, now["d"].Nickname));
            Assert.Equal((3L, true, true), (now["b"].ReadSeq, now["b"].Pinned, now["b"].Muted));
            Assert.Equal((2L, true, false), (now["a"].ReadSeq, now["a"].Muted, now["a"].Pinned));
            Assert.False(now["e"].Active);
            Assert.Equal(before.Single(m => m.UserId == "c"), now["c"]);
            Assert.Equal(["d", "owner"], (await _store.SearchMembersAsync("sg", new MemberQuery("", MemberRole.Admin, "", 10))).Members.Select(m => m.UserId));
            var page = await _store.SearchMembersAsync("sg", new MemberQuery("", MemberRole.Member, "", 10));
            Assert.Equal(["a", "b", "c", "d", "owner"], page.Members.Select(m => m.UserId));
            Assert.Equal(5, page.Total);
            Assert.Empty((await _store.GetSuperGroupMembershipsAsync("e")).ConversationIds);
            var left = await _store.GetConversationViewAsync("e", "sg");
            Assert.Equal(3, left!.MaxSeq); // a kicked member sees the group as it was when he left
            Assert.Equal([1L, 2L, 3L], (await _store.GetChangesAsync("e", 0, 10)).Changes.Single().Messages.Select(m => m.Seq));
            Assert.Equal([1L, 2L, 3L, 4L], (await _store.GetChangesAsync("c", 0, 10)).Changes.Single().Messages.Select(m => m.Seq));
            Assert.Equal((0L, 0L, 4L, 0L), (await _store.GetUnreadTotalAsync("a"), await _store.GetUnreadTotalAsync("b"), await _store.GetUnreadTotalAsync("c"), await _store.GetUnreadTotalAsync("d"))); // a and b muted
        }

        await AssertAfterChangesAsync();
        Assert.Equal(4, await _store.CompactSuperGroupAsync("sg"));
        Assert.Equal((0L, 6L), (await _g.RowsAsync("sg"), await _g.SlotsAsync("sg")));
        await AssertAfterChangesAsync();

        // A rejoin of the kicked member, now an inactive slot: active again, visible from the rejoin, the old period kept.
        await _g.CommitAsync(b => b.MemberChanges.Add(new MemberChange("sg", "e", MemberRole.Member, "again", 0, 5000, "owner", true, 5, 0, _g.Next())));
        await _g.SendAsync("sg", 5, "owner");
        foreach (var compacted in new[] { false, true })
        {
            if (compacted)
            {
                Assert.Equal(2, await _store.CompactSuperGroupAsync("sg")); // e's row and owner's (the sender's read cursor)
            }

            var rejoined = Assert.Single(await _store.GetMembersByIdsAsync("sg", ["e"]));
            Assert.Equal((true, 5L, "again"), (rejoined.Member.Active, rejoined.Member.VisibleFrom, rejoined.Member.Nickname));
            Assert.Equal([(1L, 3L)], rejoined.Periods.Select(p => (p.From, p.To)));
            Assert.Equal([1L, 2L, 3L, 5L], (await _store.GetChangesAsync("e", 0, 10)).Changes.Single().Messages.Select(m => m.Seq));
            Assert.Equal(["sg"], (await _store.GetSuperGroupMembershipsAsync("e")).ConversationIds);
            Assert.Equal(6, (await _store.SearchMembersAsync("sg", new MemberQuery("", MemberRole.Member, "", 10))).Total);
        }
    }

    [StoreFact]
    public async Task KeysetPages_OverManyPackedPagesAndRows_FollowTheOrdinalOrder()
    {
        // 700 members: six pages of up to 128 after a compaction; then rows that fall inside pages, before and after them.
        var users = Enumerable.Range(1, 699).Select(i => "u" + i.ToString("D4", CultureInfo.InvariantCulture)).ToList();
        await _g.CreateSuperGroupAsync("kp", "owner", ["owner", .. users]);
        Assert.Equal(700, await _store.CompactSuperGroupAsync("kp"));
        Assert.Equal(6L, Convert.ToInt64(await _postgres.ScalarAsync("SELECT COUNT(*) FROM member_pages"), CultureInfo.InvariantCulture));

        var version = _g.Next();
        await _g.CommitAsync(b =>
        {
            b.MemberChanges.AddRange(new[] { "u0100", "u0300", "u0129" }.Select(u => Joined("kp", u, version) with { Active = false, VisibleTo = 0 }));
            b.MemberChanges.AddRange(new[] { "u0150a", "A-first", "zz-last", "u0256~" }.Select(u => Joined("kp", u, version)));
            b.MemberChanges.Add(Joined("kp", "u0500", version, MemberRole.Admin));
        });
        var expected = new[] { "owner", "u0150a", "A-first", "zz-last", "u0256~" }.Concat(users).Except(["u0100", "u0300", "u0129"]).Order(StringComparer.Ordinal).ToList();

        foreach (var step in new[] { "rows over slots", "compacted again" })
        {
            if (step == "compacted again")
            {
                Assert.Equal(8, await _store.CompactSuperGroupAsync("kp"));
            }

            foreach (var limit in new[] { 37, 128, 500 })
            {
                Assert.Equal(expected, (await PageAllAsync("kp", new MemberQuery("", MemberRole.Member, "", limit))).Select(m => m.UserId));
            }

            Assert.Equal(expected.Where(u => u.StartsWith("u01", StringComparison.Ordinal)), (await PageAllAsync("kp", new MemberQuery("u01", MemberRole.Member, "", 7))).Select(m => m.UserId));
            Assert.Equal(["owner", "u0500"], (await PageAllAsync("kp", new MemberQuery("", MemberRole.Admin, "", 1))).Select(m => m.UserId));
            var offset = await _store.SearchMembersAsync("kp", new MemberQuery("", MemberRole.Member, "u0200", 20) { Offset = 130 });
            Assert.Equal(expected.Where(u => string.CompareOrdinal(u, "u0200") > 0).Skip(130).Take(20), offset.Members.Select(m => m.UserId));
            Assert.Equal(expected.Count, (await _store.SearchMembersAsync("kp", new MemberQuery("", MemberRole.Member, "", 5))).Total);

            // The digest walks the same order to its end (its recipients need push devices; the pages are what counts here).
            var pages = 0;
            var after = "";
            for (DigestPage page; (page = await _store.GetDigestPageAsync("kp", after, 100)).NextAfter is { } next; after = next)
            {
                Assert.True(++pages < 100);
            }

            Assert.Equal(expected.Count / 100, pages);
        }
    }

    [StoreFact]
    public async Task Compaction_ConcurrentWithCommitsOfTheSameGroup_LosesNoWrite()
    {
        var users = Enumerable.Range(1, 40).Select(i => "w" + i.ToString("D2", CultureInfo.InvariantCulture)).ToList();
        await _g.CreateSuperGroupAsync("cc", "owner", ["owner", .. users]);
        await _store.CompactSuperGroupAsync("cc");
        var versions = new long[users.Count];
        var writes = Task.WhenAll(users.Select(async (u, i) =>
        {
            for (var seq = 1; seq <= 5; seq++)
            {
                var version = _g.Next();
                versions[i] = version;
                await _g.CommitAsync(b => b.ReadCursors.Add(new ReadCursorUpdate("cc", u, (i * 10) + seq, version)));
            }
        }));
        var compactions = Task.Run(async () =>
        {
            while (!writes.IsCompleted)
            {
                await _store.CompactSuperGroupAsync("cc");
            }
        });
        await writes;
        await compactions;

        foreach (var compacted in new[] { false, true })
        {
            if (compacted)
            {
                await _store.CompactSuperGroupAsync("cc");
                Assert.Equal(0L, await _g.RowsAsync("cc"));
            }

            var members = (await _store.GetMembersAsync("cc")).ToDictionary(m => m.UserId);
            Assert.Equal(41, members.Count);
            Assert.All(users.Select((u, i) => (u, i)), x => Assert.Equal((x.i * 10) + 5L, members[x.u].ReadSeq));
            Assert.All(users, u => Assert.Equal("nick-" + u, members[u].Nickname));
        }
    }
}
