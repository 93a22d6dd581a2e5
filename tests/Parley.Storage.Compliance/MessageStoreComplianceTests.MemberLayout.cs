using Parley.Abstractions.Messaging;

namespace Parley.Storage.Compliance;

/// <summary>
/// Super-group member storage under what a packed member layout (ADR 0021) would make risky: many commits into one
/// group at once, single-member lookups and changes inside a large group, paging a group of 100,000 members. They pin
/// the member port's behaviour on the row-per-member layout so a change of the layout must keep it.
/// </summary>
public abstract partial class MessageStoreComplianceTests
{
    [StoreFact]
    public async Task SuperGroupMembers_ConcurrentJoinsLeavesRoleMuteAndCursorCommitsIntoOneGroup_NoChangeLost_CountExact()
    {
        var supers = Assert.IsAssignableFrom<ISuperGroupStore>(Store);
        var groups = Assert.IsAssignableFrom<IGroupStore>(Store);
        await CreateSuperGroupAsync("cc", "owner", ["owner"]);
        await CommitAsync(b =>
        {
            b.ReadDiffusion.Add("cc");
            b.Messages.Add(Message("cc", 1, "owner"));
            b.Messages.Add(Message("cc", 2, "owner"));
            b.Messages.Add(Message("cc", 3, "owner"));
        });

        // 8 writers, 20 users each (users sort interleaved across writers, so neighbouring members change at once).
        // Every operation is its own commit; a user's operations stay in order within its writer.
        const int writers = 8, perWriter = 20;
        string User(int w, int i) => $"u{i:D2}-{w}";
        var plans = new List<List<CommitBatch>>();
        for (var w = 0; w < writers; w++)
        {
            // The first half joins in one commit (a bulk chunk), the rest one by one.
            var plan = new List<CommitBatch>();
            var chunk = new CommitBatch();
            var chunkVersion = NextVersion();
            chunk.MemberChanges.AddRange(Enumerable.Range(0, perWriter / 2).Select(i => Joined("cc", User(w, i), chunkVersion) with { InviterId = "owner" }));
            plan.Add(chunk);
            for (var i = perWriter / 2; i < perWriter; i++)
            {
                var join = new CommitBatch();
                join.MemberChanges.Add(Joined("cc", User(w, i), NextVersion()) with { InviterId = "owner" });
                plan.Add(join);
            }

            for (var i = 0; i < perWriter; i++)
            {
                var change = new CommitBatch();
                var user = User(w, i);
                switch (i % 4)
                {
                    case 0: // kicked
                        change.MemberChanges.Add(Joined("cc", user, NextVersion()) with { InviterId = "owner", Active = false, VisibleTo = 3 });
                        break;
                    case 1: // made admin
                        change.MemberChanges.Add(Joined("cc", user, NextVersion(), MemberRole.Admin) with { InviterId = "owner" });
                        break;
                    case 2: // muted by an admin
                        change.MemberChanges.Add(Joined("cc", user, NextVersion()) with { InviterId = "owner", MutedUntil = 9_000 });
                        break;
                    default: // reads up to seq 2 and pins the group
                        change.ReadCursors.Add(new ReadCursorUpdate("cc", user, 2, NextVersion()));
                        change.Settings.Add(new MemberSettingsUpdate("cc", user, true, null, NextVersion()));
                        break;
                }

                plan.Add(change);
            }

            plans.Add(plan);
        }

        using var stop = new CancellationTokenSource();
        var readerErrors = new List<string>();
        var reader = Task.Run(async () =>
        {
            // Reads run beside the commits: every page is ordered, without duplicates, within the group's size.
            while (!stop.IsCancellationRequested)
            {
                var page = await supers.SearchMembersAsync("cc", new MemberQuery(string.Empty, MemberRole.Member, string.Empty, 500));
                var ids = page.Members.Select(m => m.UserId).ToList();
                if (!ids.SequenceEqual(ids.Order(StringComparer.Ordinal)) || ids.Distinct().Count() != ids.Count || page.Total > 1 + (writers * perWriter))
                {
                    lock (readerErrors)
                    {
                        readerErrors.Add($"page of {ids.Count}, total {page.Total}");
                    }
                }

                await supers.GetMembersByIdsAsync("cc", [User(0, 0), User(writers - 1, perWriter - 1)]);
            }
        });

        await Task.WhenAll(plans.Select(plan => Task.Run(async () =>
        {
            foreach (var batch in plan)
            {
                await Store.CommitAsync(batch);
            }
        })));
        await stop.CancelAsync();
        await reader;
        Assert.Empty(readerErrors);

        var all = Enumerable.Range(0, writers).SelectMany(w => Enumerable.Range(0, perWriter).Select(i => (w, i, id: User(w, i)))).ToList();
        var rows = (await supers.GetMembersByIdsAsync("cc", all.Select(u => u.id).ToList())).ToDictionary(r => r.Member.UserId);
        Assert.Equal(all.Count, rows.Count);
        foreach (var (_, i, id) in all)
        {
            var m = rows[id].Member;
            Assert.Equal((i % 4 != 0, i % 4 == 1 ? MemberRole.Admin : MemberRole.Member, i % 4 == 2 ? 9_000L : 0L), (m.Active, m.Role, m.MutedUntil));
            Assert.Equal(("owner", "nick-" + id, i % 4 == 3 ? 2L : 0L, i % 4 == 3, false), (m.InviterId, m.Nickname, m.ReadSeq, m.Pinned, m.Muted));
            MemberPeriod[] periods = i % 4 == 0 ? [new MemberPeriod(id, 1, 3)] : [];
            Assert.Equal(periods, rows[id].Periods);
        }

        var active = all.Where(u => u.i % 4 != 0).Select(u => u.id).Append("owner").Order(StringComparer.Ordinal).ToList();
        Assert.Equal(active.Count, (await groups.GetGroupAsync("g-cc"))!.MemberCount);

        var paged = new List<string>();
        var after = string.Empty;
        MemberSearchPage page;
        do
        {
            page = await supers.SearchMembersAsync("cc", new MemberQuery(string.Empty, MemberRole.Member, after, 7));
            Assert.Equal(active.Count, page.Total);
            paged.AddRange(page.Members.Select(m => m.UserId));
            after = page.NextAfter ?? string.Empty;
        }
        while (page.NextAfter is not null);
        Assert.Equal(active, paged);

        var admins = await supers.SearchMembersAsync("cc", new MemberQuery(string.Empty, MemberRole.Admin, string.Empty, 100));
        Assert.Equal(all.Where(u => u.i % 4 == 1).Select(u => u.id).Append("owner").Order(StringComparer.Ordinal), admins.Members.Select(m => m.UserId));
        foreach (var (_, i, id) in all.Where(u => u.w < 2))
        {
            string[] memberships = i % 4 == 0 ? [] : ["cc"];
            Assert.Equal(memberships, (await supers.GetSuperGroupMembershipsAsync(id)).ConversationIds);
        }

        // The read cursors count: a reader has one unread message, members who never read three, a kicked one none.
        Assert.Equal(1L, await Store.GetUnreadTotalAsync(User(3, 3)));
        Assert.Equal((3L, 3L), (await Store.GetUnreadTotalAsync(User(5, 1)), await Store.GetUnreadTotalAsync(User(6, 2))));
        Assert.Equal(0L, await Store.GetUnreadTotalAsync(User(5, 0)));
    }

    [StoreFact]
    public async Task SuperGroupMembers_HundredThousandMembers_LookupRoleChangeKickPagingAndMemberships()
    {
        var supers = Assert.IsAssignableFrom<ISuperGroupStore>(Store);
        var groups = Assert.IsAssignableFrom<IGroupStore>(Store);
        const int count = 100_000;
        string User(int i) => $"m{i:D6}";
        await CreateSuperGroupAsync("sg100k", "owner", ["owner"]);
        foreach (var chunk in Enumerable.Range(0, count).Chunk(1_000))
        {
            var version = NextVersion();
            await CommitAsync(b => b.MemberChanges.AddRange(chunk.Select(i => Joined("sg100k", User(i), version) with { InviterId = "owner" })));
        }

        Assert.Equal(count + 1, (await groups.GetGroupAsync("g-sg100k"))!.MemberCount);

        // Lookups at both ends and in the middle of the key range, one user who is not a member.
        var found = await supers.GetMembersByIdsAsync("sg100k", [User(0), User(count / 2), User(count - 1), User(count), "owner"]);
        Assert.Equal(["m000000", "m050000", "m099999", "owner"], found.Select(r => r.Member.UserId).Order(StringComparer.Ordinal));
        Assert.All(found.Where(r => r.Member.UserId != "owner"), r => Assert.Equal((MemberRole.Member, "owner", true), (r.Member.Role, r.Member.InviterId, r.Member.Active)));

        // A role change and a kick in the middle of the range touch those members only.
        await CommitAsync(b => b.MemberChanges.Add(Joined("sg100k", User(count / 2), NextVersion(), MemberRole.Admin) with { InviterId = "owner" }));
        await CommitAsync(b => b.MemberChanges.Add(Joined("sg100k", User(count / 2 + 1), NextVersion()) with { InviterId = "owner", Active = false, VisibleTo = 0 }));
        Assert.Equal(count, (await groups.GetGroupAsync("g-sg100k"))!.MemberCount);
        var changed = (await supers.GetMembersByIdsAsync("sg100k", [User(count / 2 - 1), User(count / 2), User(count / 2 + 1), User(count / 2 + 2)]))
            .ToDictionary(r => r.Member.UserId, r => (r.Member.Role, r.Member.Active));
        Assert.Equal(
            new Dictionary<string, (MemberRole, bool)>
            {
                [User(count / 2 - 1)] = (MemberRole.Member, true),
                [User(count / 2)] = (MemberRole.Admin, true),
                [User(count / 2 + 1)] = (MemberRole.Member, false),
                [User(count / 2 + 2)] = (MemberRole.Member, true),
            },
            changed);
        Assert.Equal(["m050000", "owner"], (await supers.SearchMembersAsync("sg100k", new MemberQuery(string.Empty, MemberRole.Admin, string.Empty, 10))).Members.Select(m => m.UserId));

        // Paging the whole group: every active member once, in order.
        var expected = Enumerable.Range(0, count).Where(i => i != count / 2 + 1).Select(User).Append("owner").ToList();
        var seen = new List<string>(expected.Count);
        var after = string.Empty;
        MemberSearchPage page;
        do
        {
            page = await supers.SearchMembersAsync("sg100k", new MemberQuery(string.Empty, MemberRole.Member, after, 10_000));
            Assert.Equal(count, page.Total);
            seen.AddRange(page.Members.Select(m => m.UserId));
            after = page.NextAfter ?? string.Empty;
        }
        while (page.NextAfter is not null);
        Assert.Equal(expected, seen);

        var search = await supers.SearchMembersAsync("sg100k", new MemberQuery("M0500", MemberRole.Member, string.Empty, 5));
        Assert.Equal(99, search.Total); // m050000..m050099 but the kicked m050001
        Assert.Equal(["m050000", "m050002", "m050003", "m050004", "m050005"], search.Members.Select(m => m.UserId));

        Assert.Equal(["sg100k"], (await supers.GetSuperGroupMembershipsAsync(User(count - 1))).ConversationIds);
        Assert.Empty((await supers.GetSuperGroupMembershipsAsync(User(count / 2 + 1))).ConversationIds);
    }

    [StoreFact]
    public async Task MemberChanges_ManyInOneCommit_LeaveTheSameRowsCountsAndPeriodsAsOneCommitEach()
    {
        // The same member changes, once as one commit per change and once as a few large commits (a bulk chunk: new
        // members, role and nickname changes, leaves with and without a closed period, a rejoin, two groups in one
        // commit, one member named twice in a commit): every row, count and period ends the same.
        var supers = Assert.IsAssignableFrom<ISuperGroupStore>(Store);
        var groups = Assert.IsAssignableFrom<IGroupStore>(Store);
        await CreateSuperGroupAsync("one", "owner", ["owner", "a", "b", "c"]);
        await CreateSuperGroupAsync("set", "owner", ["owner", "a", "b", "c"]);
        await CreateSuperGroupAsync("one2", "owner", ["owner"]);
        await CreateSuperGroupAsync("set2", "owner", ["owner"]);

        MemberChange Change(string user, Func<MemberChange, MemberChange>? edit = null, string conversation = "g")
        {
            var change = Joined(conversation, user, NextVersion()) with { InviterId = "owner" };
            return edit is null ? change : edit(change);
        }

        List<MemberChange>[] commits =
        [
            [
                .. new[] { "d", "e", "f", "g", "h" }.Select(u => Change(u)),
                Change("a", m => m with { Role = MemberRole.Admin }),
                Change("b", m => m with { Active = false, VisibleTo = 2 }),
                Change("c", m => m with { Nickname = "renamed" }),
            ],
            [
                Change("b", m => m with { VisibleFrom = 3, ReadSeqFloor = 2 }),
                Change("d", m => m with { Active = false, VisibleTo = 0 }),
                Change("e", m => m with { Active = false, VisibleTo = 3 }),
                Change("i"),
                Change("j", m => m with { MutedUntil = 7_000 }),
                Change("x", conversation: "g2"),
                Change("y", conversation: "g2"),
            ],
            [
                Change("f", m => m with { Role = MemberRole.Admin }),
                Change("f", m => m with { Active = false, VisibleTo = 3 }),
                Change("g", m => m with { MutedUntil = 8_000 }),
            ],
            [
                Change("h", m => m with { Active = false, VisibleTo = 4 }),
                Change("i", m => m with { Active = false, VisibleTo = 4 }),
                Change("y", m => m with { Active = false, VisibleTo = 0 }, "g2"),
            ],
        ];

        static string Name(string conversation, bool set) => (set ? "set" : "one") + (conversation == "g" ? "" : "2");
        foreach (var commit in commits)
        {
            foreach (var change in commit)
            {
                await CommitAsync(b => b.MemberChanges.Add(change with { ConversationId = Name(change.ConversationId, set: false) }));
            }

            await CommitAsync(b => b.MemberChanges.AddRange(commit.Select(change => change with { ConversationId = Name(change.ConversationId, set: true) })));
        }

        foreach (var (one, set, active) in new[] { ("one", "set", 6), ("one2", "set2", 2) })
        {
            // The owners differ only by their groups' creation versions; every member the commits named is compared.
            var expected = (await Store.GetMembersAsync(one)).OrderBy(m => m.UserId, StringComparer.Ordinal).ToList();
            Assert.Equal(expected.Where(m => m.UserId != "owner"), (await Store.GetMembersAsync(set)).Where(m => m.UserId != "owner").OrderBy(m => m.UserId, StringComparer.Ordinal));
            Assert.Equal(active == 6 ? 10 : 2, expected.Count(m => m.UserId != "owner"));
            Assert.Equal(active, expected.Count(m => m.Active));
            Assert.Equal(active, (await groups.GetGroupAsync("g-" + one))!.MemberCount);
            Assert.Equal(active, (await groups.GetGroupAsync("g-" + set))!.MemberCount);
            Assert.Equal(
                (await groups.GetMemberPeriodsAsync(one)).OrderBy(p => p.UserId, StringComparer.Ordinal),
                (await groups.GetMemberPeriodsAsync(set)).OrderBy(p => p.UserId, StringComparer.Ordinal));
        }

        Assert.Equal(
            [new MemberPeriod("b", 1, 2), new MemberPeriod("e", 1, 3), new MemberPeriod("f", 1, 3), new MemberPeriod("h", 1, 4), new MemberPeriod("i", 1, 4)],
            (await groups.GetMemberPeriodsAsync("set")).OrderBy(p => p.UserId, StringComparer.Ordinal));
        var rejoined = Assert.Single(await supers.GetMembersByIdsAsync("set", ["b"]));
        Assert.Equal((true, 3L, 2L), (rejoined.Member.Active, rejoined.Member.VisibleFrom, rejoined.Member.ReadSeq));
        Assert.Equal(["one", "set"], (await supers.GetSuperGroupMembershipsAsync("j")).ConversationIds.Order(StringComparer.Ordinal));
    }
}
