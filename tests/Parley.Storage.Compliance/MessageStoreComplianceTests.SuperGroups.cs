using Parley.Abstractions.Messaging;

namespace Parley.Storage.Compliance;

/// <summary>Read diffusion (ADR 0017): what a super group's commit writes, how a resume finds it, member queries at scale.</summary>
public abstract partial class MessageStoreComplianceTests
{
    private static GroupRecord SuperGroup(string conversationId, string owner, int memberCount, long version) =>
        new("g-" + conversationId, conversationId, "Super " + conversationId, "", "", "", "{}", owner, GroupJoinPolicy.Free, false, false, true, false, 1000, 1000, memberCount, version)
        {
            Kind = GroupKind.Super,
        };

    private static MemberChange Joined(string conversationId, string userId, long version, MemberRole role = MemberRole.Member, long visibleFrom = 1) =>
        new(conversationId, userId, role, "nick-" + userId, 0, 1000, "", true, visibleFrom, 0, version);

    private async Task CreateSuperGroupAsync(string id, string owner, IReadOnlyList<string> members)
    {
        var conversation = Group(id, owner, members);
        await CommitAsync(b =>
        {
            b.Conversations.Add(conversation);
            b.Groups.Add(SuperGroup(id, owner, members.Count, conversation.Version));
            b.MemberChanges.AddRange(members.Select(m => Joined(id, m, conversation.Version, m == owner ? MemberRole.Owner : MemberRole.Member)));
        });
    }

    [StoreFact]
    public async Task ReadDiffusion_MessagesWriteNothingPerMember_ResumeFindsOnlyAdvancedGroupsOfActiveMembers()
    {
        await CreateSuperGroupAsync("big", "alice", ["alice", "bob", "carol", "dave"]);
        await CreateSuperGroupAsync("quiet", "alice", ["alice", "carol"]);
        await CommitAsync(b => b.Conversations.Add(Group("small", "alice", ["alice", "carol"])));
        await CommitAsync(b => b.MemberChanges.Add(Joined("big", "dave", NextVersion()) with { Active = false, VisibleTo = 0 }));
        var cursor = await Store.GetMaxVersionAsync();
        var feedBefore = (await Store.GetMembersAsync("big")).ToDictionary(m => m.UserId, m => m.FeedVersion);

        StoredMessage last = null!;
        await CommitAsync(b =>
        {
            b.ReadDiffusion.Add("big");
            b.Messages.Add(Message("big", 1, "alice"));
            b.Messages.Add(last = Message("big", 2, "bob"));
        });

        // Nothing per member but the senders' own read cursors.
        var after = (await Store.GetMembersAsync("big")).ToDictionary(m => m.UserId);
        Assert.All(after.Values, m => Assert.Equal(feedBefore[m.UserId], m.FeedVersion));
        Assert.Equal((1L, 2L, 0L), (after["alice"].ReadSeq, after["bob"].ReadSeq, after["carol"].ReadSeq));

        var changes = await Store.GetChangesAsync("carol", cursor, 10);
        var change = Assert.Single(changes.Changes);
        Assert.Equal("big", change.Conversation.ConversationId);
        Assert.Equal([1L, 2L], change.Messages.Select(m => m.Seq));
        Assert.Equal((2L, 2L), (change.Conversation.MaxSeq, change.Conversation.Unread));
        Assert.Equal(last.Version, changes.Version);
        Assert.Empty((await Store.GetChangesAsync("carol", changes.Version, 10)).Changes);
        Assert.Empty((await Store.GetChangesAsync("dave", cursor, 10)).Changes);

        // A member whose own row changed too (read cursor) gets the group once.
        await CommitAsync(b => b.ReadCursors.Add(new ReadCursorUpdate("big", "carol", 1, NextVersion())));
        var again = await Store.GetChangesAsync("carol", cursor, 10);
        Assert.Equal((1L, 1L), (Assert.Single(again.Changes).Conversation.ReadSeq, again.Changes[0].Conversation.Unread));
        Assert.Equal((1L, 0L), (await Store.GetUnreadTotalAsync("carol"), await Store.GetUnreadTotalAsync("bob")));
    }

    [StoreFact]
    public async Task MemberInviters_OneInviterForABulkChunk_ChangedAndCleared_ReadBackOnEveryMemberPath()
    {
        // SQLite interns inviters (one key per inviter, issue 12's storage per member); every read path gives the id back.
        var store = Assert.IsAssignableFrom<ISuperGroupStore>(Store);
        var groups = Assert.IsAssignableFrom<IGroupStore>(Store);
        await CreateSuperGroupAsync("inv", "owner", ["owner"]);
        var since = await Store.GetMaxVersionAsync();
        var chunk = NextVersion();
        await CommitAsync(b => b.MemberChanges.AddRange(new[] { "u1", "u2", "u3", "u5" }.Select(u => Joined("inv", u, chunk) with { InviterId = "owner" })));
        await CommitAsync(b => b.MemberChanges.Add(Joined("inv", "u4", NextVersion()) with { InviterId = "admin-x" }));
        await CommitAsync(b => b.MemberChanges.Add(Joined("inv", "u2", NextVersion()) with { InviterId = "u1" }));
        await CommitAsync(b => b.MemberChanges.Add(Joined("inv", "u3", NextVersion()) with { InviterId = "" }));
        await CommitAsync(b => b.MemberChanges.Add(Joined("inv", "u5", NextVersion()) with { InviterId = "owner", Active = false, VisibleTo = 3 }));
        var expected = new Dictionary<string, string> { ["owner"] = "", ["u1"] = "owner", ["u2"] = "u1", ["u3"] = "", ["u4"] = "admin-x", ["u5"] = "owner" };

        Assert.Equal(expected, (await Store.GetMembersAsync("inv")).ToDictionary(m => m.UserId, m => m.InviterId));
        var page = await store.SearchMembersAsync("inv", new MemberQuery(string.Empty, MemberRole.Member, string.Empty, 100));
        Assert.Equal(expected.Where(e => e.Key != "u5"), page.Members.Select(m => KeyValuePair.Create(m.UserId, m.InviterId)).OrderBy(e => e.Key, StringComparer.Ordinal));
        var byId = await store.GetMembersByIdsAsync("inv", ["u2", "u4", "u5"]);
        Assert.Equal(["u1", "admin-x", "owner"], byId.OrderBy(m => m.Member.UserId, StringComparer.Ordinal).Select(m => m.Member.InviterId));
        var delta = await groups.GetMembersDeltaAsync("inv", since);
        Assert.Contains(delta.Upserts, m => m.UserId == "u4");
        Assert.All(delta.Upserts, m => Assert.Equal(expected[m.UserId], m.InviterId));
    }

    [StoreFact]
    public async Task SuperGroupMembers_CountPagesSearchRolesAndMembershipsWithoutTheWholeRoster()
    {
        var store = Assert.IsAssignableFrom<ISuperGroupStore>(Store);
        var members = Enumerable.Range(0, 1200).Select(i => $"user{i:D4}").Prepend("owner").ToArray();
        await CreateSuperGroupAsync("huge", "owner", ["owner"]);
        foreach (var chunk in members.Skip(1).Chunk(500))
        {
            var version = NextVersion();
            await CommitAsync(b => b.MemberChanges.AddRange(chunk.Select(u => Joined("huge", u, version))));
        }

        await CommitAsync(b => b.MemberChanges.Add(Joined("huge", "user0007", NextVersion(), MemberRole.Admin)));
        await CommitAsync(b => b.MemberChanges.Add(Joined("huge", "user0009", NextVersion()) with { Active = false, VisibleTo = 5 }));

        var seen = new List<string>();
        var after = string.Empty;
        MemberSearchPage page;
        do
        {
            page = await store.SearchMembersAsync("huge", new MemberQuery("", MemberRole.Member, after, 500));
            Assert.Equal(1200, page.Total);
            seen.AddRange(page.Members.Select(m => m.UserId));
            after = page.NextAfter ?? string.Empty;
        }
        while (page.NextAfter is not null);
        Assert.Equal(members.Where(u => u != "user0009").Order(StringComparer.Ordinal), seen);
        Assert.Equal(1200, (await ((IGroupStore)Store).GetGroupAsync("g-huge"))!.MemberCount);

        var admins = await store.SearchMembersAsync("huge", new MemberQuery("", MemberRole.Admin, "", 50));
        Assert.Equal(["owner", "user0007"], admins.Members.Select(m => m.UserId));
        var found = await store.SearchMembersAsync("huge", new MemberQuery("USER011", MemberRole.Member, "", 5));
        Assert.Equal(10, found.Total);
        Assert.Equal(["user0110", "user0111", "user0112", "user0113", "user0114"], found.Members.Select(m => m.UserId));
        Assert.Equal("user0114", found.NextAfter);
        Assert.Equal(1200, (await store.SearchMembersAsync("huge", new MemberQuery("nick-", MemberRole.Member, "", 1))).Total);
        var offsetPage = await store.SearchMembersAsync("huge", new MemberQuery("", MemberRole.Member, "", 3) { Offset = 1000 });
        Assert.Equal(seen.Skip(1000).Take(3), offsetPage.Members.Select(m => m.UserId));

        var rows = await store.GetMembersByIdsAsync("huge", ["user0009", "user0007", "stranger"]);
        Assert.Equal(2, rows.Count);
        var gone = rows.Single(r => r.Member.UserId == "user0009");
        Assert.False(gone.Member.Active);
        Assert.Equal([new MemberPeriod("user0009", 1, 5)], gone.Periods);
        Assert.Equal(MemberRole.Admin, rows.Single(r => r.Member.UserId == "user0007").Member.Role);

        var mine = await store.GetSuperGroupMembershipsAsync("user0007");
        Assert.Equal(["huge"], mine.ConversationIds);
        Assert.Equal(await Store.GetMaxVersionAsync(), mine.Version);
        Assert.Empty((await store.GetSuperGroupMembershipsAsync("user0009")).ConversationIds);
    }

    [StoreFact]
    public async Task SuperGroupDeltas_GroupAndMemberListsWithoutPerMemberInfoWrites()
    {
        var groups = (IGroupStore)Store;
        await CreateSuperGroupAsync("sgd", "alice", ["alice", "bob", "carol"]);
        var normal = Group("ngd", "alice", ["alice", "bob"]);
        await CommitAsync(b =>
        {
            b.Conversations.Add(normal);
            b.Groups.Add(SuperGroup("ngd", "alice", 2, normal.Version) with { Kind = GroupKind.Normal });
            b.MemberChanges.AddRange(new[] { "alice", "bob" }.Select(m => Joined("ngd", m, normal.Version, m == "alice" ? MemberRole.Owner : MemberRole.Member)));
        });

        var full = await groups.GetGroupsDeltaAsync("bob", 0);
        Assert.Equal(["g-ngd", "g-sgd"], full.Upserts.Select(g => g.GroupId).Order(StringComparer.Ordinal));
        Assert.Empty(full.Left);
        Assert.Empty((await groups.GetGroupsDeltaAsync("bob", full.Version)).Upserts);
        Assert.Equal(["alice", "bob", "carol"], (await groups.GetMembersDeltaAsync("sgd", 0)).Upserts.Select(m => m.UserId).Order(StringComparer.Ordinal));
        Assert.Equal(["alice", "bob"], (await groups.GetMembersDeltaAsync("ngd", 0)).Upserts.Select(m => m.UserId).Order(StringComparer.Ordinal));

        // carol leaves; then both groups' info changes. The super group's change writes no member row, yet every
        // active member's group list has it once; carol's has her leave and not the later info change.
        var cursor = full.Version;
        await CommitAsync(b => b.MemberChanges.Add(Joined("sgd", "carol", NextVersion()) with { Active = false, VisibleTo = 0 }));
        var carolAfterLeave = await groups.GetGroupsDeltaAsync("carol", cursor);
        Assert.Equal(["g-sgd"], carolAfterLeave.Left);
        var feedBefore = (await Store.GetMembersAsync("sgd")).ToDictionary(m => m.UserId, m => m.FeedVersion);
        var renamed = SuperGroup("sgd", "alice", 2, NextVersion()) with { Name = "Renamed super" };
        await CommitAsync(b => b.Groups.Add(renamed));
        await CommitAsync(b => b.Groups.Add(SuperGroup("ngd", "alice", 2, NextVersion()) with { Kind = GroupKind.Normal, Name = "Renamed normal" }));
        Assert.Equal(feedBefore, (await Store.GetMembersAsync("sgd")).ToDictionary(m => m.UserId, m => m.FeedVersion));
        Assert.Empty((await groups.GetMembersDeltaAsync("sgd", carolAfterLeave.Version)).Upserts);

        var bob = await groups.GetGroupsDeltaAsync("bob", cursor);
        Assert.Equal(["Renamed normal", "Renamed super"], bob.Upserts.Select(g => g.Name).Order(StringComparer.Ordinal));
        var carol = await groups.GetGroupsDeltaAsync("carol", carolAfterLeave.Version);
        Assert.Empty(carol.Upserts);
        Assert.Empty(carol.Left);
        Assert.Equal(["g-sgd"], (await groups.GetGroupsDeltaAsync("carol", cursor)).Left);

        // A member change of the super group (bob made admin) reaches his group list and the group's member delta;
        // a read cursor alone changes neither.
        var beforeAdmin = await groups.GetGroupsDeltaAsync("bob", 0);
        await CommitAsync(b => b.ReadCursors.Add(new ReadCursorUpdate("sgd", "alice", 0, NextVersion())));
        Assert.Empty((await groups.GetGroupsDeltaAsync("alice", beforeAdmin.Version)).Upserts);
        await CommitAsync(b => b.MemberChanges.Add(Joined("sgd", "bob", NextVersion(), MemberRole.Admin)));
        Assert.Equal(["g-sgd"], (await groups.GetGroupsDeltaAsync("bob", beforeAdmin.Version)).Upserts.Select(g => g.GroupId));
        Assert.Empty((await groups.GetGroupsDeltaAsync("alice", beforeAdmin.Version)).Upserts);
        var adminDelta = await groups.GetMembersDeltaAsync("sgd", beforeAdmin.Version);
        Assert.Equal(["bob"], adminDelta.Upserts.Select(m => m.UserId));

        // A promoted group keeps its members' lists whole: its rows move to read diffusion once.
        var promoted = Group("pgd", "alice", ["alice", "dave"]);
        await CommitAsync(b =>
        {
            b.Conversations.Add(promoted);
            b.Groups.Add(SuperGroup("pgd", "alice", 2, promoted.Version) with { Kind = GroupKind.Normal });
            b.MemberChanges.AddRange(new[] { "alice", "dave" }.Select(m => Joined("pgd", m, promoted.Version)));
        });
        var davePromoted = await groups.GetGroupsDeltaAsync("dave", 0);
        await CommitAsync(b => b.Groups.Add(SuperGroup("pgd", "alice", 2, NextVersion())));
        var promotedDelta = await groups.GetGroupsDeltaAsync("dave", davePromoted.Version);
        Assert.Equal(GroupKind.Super, Assert.Single(promotedDelta.Upserts).Kind);
        Assert.Equal(["alice", "dave"], (await groups.GetMembersDeltaAsync("pgd", 0)).Upserts.Select(m => m.UserId).Order(StringComparer.Ordinal));
        Assert.Equal(["g-pgd", "g-sgd"], (await groups.GetGroupsDeltaAsync("alice", 0)).Upserts.Select(g => g.GroupId).Where(g => g != "g-ngd").Order(StringComparer.Ordinal));
    }

    [StoreFact]
    public async Task SuperGroupMemberNotices_StoredWithTheGroup_MembershipOnlyCommitsPositionJoinAndLeaveAtTheMaxSeq()
    {
        var groups = (IGroupStore)Store;
        var supers = Assert.IsAssignableFrom<ISuperGroupStore>(Store);
        await CreateSuperGroupAsync("mn", "alice", ["alice", "bob"]);
        Assert.Equal(MemberNoticeMode.Messages, (await groups.GetGroupAsync("g-mn"))!.MemberNotices);
        await CommitAsync(b => b.Groups.Add(SuperGroup("mn", "alice", 2, NextVersion()) with { MemberNotices = MemberNoticeMode.AdminEvents }));
        Assert.Equal(MemberNoticeMode.AdminEvents, (await groups.GetGroupAsync("g-mn"))!.MemberNotices);
        await CommitAsync(b => b.Groups.Add(SuperGroup("mn", "alice", 2, NextVersion()) with { MemberNotices = MemberNoticeMode.Events }));
        Assert.Equal(MemberNoticeMode.Events, Assert.Single(await groups.GetGroupsAsync(["g-mn"])).MemberNotices);

        await CommitAsync(b =>
        {
            b.ReadDiffusion.Add("mn");
            b.Messages.Add(Message("mn", 1, "alice"));
            b.Messages.Add(Message("mn", 2, "bob"));
        });

        // A join without a notice message (the grain's membership-only commit): visible from the next seq, the group's
        // messages so far count as read; nothing in the conversation moves.
        var cursor = await Store.GetMaxVersionAsync();
        await CommitAsync(b => b.MemberChanges.Add(Joined("mn", "eve", NextVersion(), visibleFrom: 3) with { ReadSeqFloor = 2 }));
        Assert.Equal(3, (await groups.GetGroupAsync("g-mn"))!.MemberCount);
        var joined = Assert.Single((await Store.GetChangesAsync("eve", cursor, 10)).Changes);
        Assert.Equal((2L, 2L, 0L), (joined.Conversation.MaxSeq, joined.Conversation.ReadSeq, joined.Conversation.Unread));
        Assert.Empty(joined.Messages);
        Assert.Equal(["mn"], (await supers.GetSuperGroupMembershipsAsync("eve")).ConversationIds);

        await CommitAsync(b =>
        {
            b.ReadDiffusion.Add("mn");
            b.Messages.Add(Message("mn", 3, "alice"));
        });
        var seen = await Store.GetChangesAsync("eve", cursor, 10);
        Assert.Equal([3L], Assert.Single(seen.Changes).Messages.Select(m => m.Seq));
        Assert.Equal(1L, seen.Changes[0].Conversation.Unread);

        // A leave without a notice: the period closes at the max seq (3), later messages stay hidden.
        await CommitAsync(b => b.MemberChanges.Add(Joined("mn", "eve", NextVersion(), visibleFrom: 3) with { Active = false, VisibleTo = 3 }));
        await CommitAsync(b =>
        {
            b.ReadDiffusion.Add("mn");
            b.Messages.Add(Message("mn", 4, "alice"));
        });
        Assert.Equal(2, (await groups.GetGroupAsync("g-mn"))!.MemberCount);
        var after = await Store.GetChangesAsync("eve", seen.Version, 10);
        Assert.DoesNotContain(after.Changes.SelectMany(c => c.Messages), m => m.Seq > 3);
        var row = Assert.Single(await supers.GetMembersByIdsAsync("mn", ["eve"]));
        Assert.False(row.Member.Active);
        Assert.Equal([new MemberPeriod("eve", 3, 3)], row.Periods);
        Assert.Empty((await supers.GetSuperGroupMembershipsAsync("eve")).ConversationIds);
    }

    [StoreFact]
    public async Task SuperGroupDigestPage_OneStatementPerPage_MembersWithADeviceAndUnreadWithTheirSettings()
    {
        var supers = Assert.IsAssignableFrom<ISuperGroupStore>(Store);
        await CreateSuperGroupAsync("dg", "alice", ["alice", "bob", "carol", "dave", "erin"]);
        await CreateSuperGroupAsync("dg2", "alice", ["alice", "bob"]);
        await CommitAsync(b =>
        {
            b.ReadDiffusion.Add("dg");
            b.Messages.Add(Message("dg", 1, "alice"));
            b.Messages.Add(Message("dg", 2, "alice"));
            b.Messages.Add(Message("dg", 3, "alice"));
        });
        await CommitAsync(b =>
        {
            b.ReadDiffusion.Add("dg2");
            b.Messages.Add(Message("dg2", 1, "alice"));
        });
        await CommitAsync(b => b.ReadCursors.Add(new ReadCursorUpdate("dg", "carol", 3, NextVersion())));
        await CommitAsync(b => b.Settings.Add(new MemberSettingsUpdate("dg", "erin", null, true, NextVersion()) { MentionsOnly = true }));
        await ExecuteSqlAsync("""
            INSERT INTO push_devices (user_id, device_id, platform, vendor, app_id, environment, notif_enabled, locale, time_zone, last_seen_at, registered_at)
            VALUES ('bob', 'b1', 'ios', 1, 'app', 0, true, 'en', 'UTC', 1, 1), ('bob', 'b2', 'android', 2, 'app', 0, true, 'en', 'UTC', 1, 1),
                   ('carol', 'c1', 'ios', 1, 'app', 0, true, 'en', 'UTC', 1, 1), ('erin', 'e1', 'ios', 1, 'app', 0, true, 'en', 'UTC', 1, 1);
            INSERT INTO push_settings (user_id, do_not_disturb, privacy, updated_at) VALUES ('bob', true, 2, 1);
            """);

        // alice sent everything (nothing unread), carol read it, dave has no device: bob and erin, each once.
        var whole = await supers.GetDigestPageAsync("dg", "", 500);
        Assert.Null(whole.NextAfter);
        Assert.Equal(
            [new DigestRecipient("bob", 3, 4, false, false, true, 2), new DigestRecipient("erin", 3, 0, true, true, false, 0)],
            whole.Recipients);

        // Pages follow the members scanned, not the recipients returned.
        var pages = new List<string>();
        var after = string.Empty;
        DigestPage page;
        do
        {
            page = await supers.GetDigestPageAsync("dg", after, 2);
            pages.Add($"[{string.Join(",", page.Recipients.Select(r => r.UserId))}] next {page.NextAfter ?? "none"}");
            after = page.NextAfter ?? string.Empty;
        }
        while (page.NextAfter is not null);
        Assert.Equal(["[bob] next bob", "[] next dave", "[erin] next none"], pages);
    }
}
