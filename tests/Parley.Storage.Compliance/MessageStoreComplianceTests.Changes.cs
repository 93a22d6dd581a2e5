using System.Globalization;
using System.Text;
using Parley.Abstractions.Messaging;

namespace Parley.Storage.Compliance;

/// <summary>Message changes, threads and full-text search (ADR 0018), on every provider.</summary>
public abstract partial class MessageStoreComplianceTests
{
    [StoreFact]
    public async Task MessageUpdate_RewritesRowAndKeepsRevision_SyncSeesItWithoutRaisingMemberFeeds()
    {
        await CommitAsync(b => b.Conversations.Add(Group("g1", "alice", ["alice", "bob", "carol"])));
        await CommitAsync(b => b.Messages.Add(Message("g1", 1, "alice", text: "first") with { SearchText = "first" }));
        var cursor = await Store.GetMaxVersionAsync();
        var feedBefore = (await Store.GetMembersAsync("g1")).ToDictionary(m => m.UserId, m => m.FeedVersion);

        var version = NextVersion();
        await CommitAsync(b => b.MessageUpdates.Add(new MessageUpdate("g1", 1, [7, 7], version)
        {
            Content = Body("second"),
            SearchText = "second",
            Previous = new MessageRevision("g1", 1, 0, Body("first"), 2001),
        }));

        var row = await Store.GetMessageAsync("g1", 1);
        Assert.Equal("second", Encoding.UTF8.GetString(row!.Content));
        Assert.Equal([7, 7], row.Annotations);
        Assert.Equal(version, row.Version);
        Assert.Equal(1, row.Seq);
        var revision = Assert.Single(await Store.GetRevisionsAsync("g1", 1));
        Assert.Equal("first", Encoding.UTF8.GetString(revision.Content));
        Assert.Equal(2001, revision.Time);

        // Nothing per member: feed versions stay, yet every member's resume sync returns the changed message.
        Assert.Equal(feedBefore, (await Store.GetMembersAsync("g1")).ToDictionary(m => m.UserId, m => m.FeedVersion));
        foreach (var user in new[] { "alice", "bob", "carol" })
        {
            var changes = await Store.GetChangesAsync(user, cursor, 10);
            var change = Assert.Single(changes.Changes);
            Assert.Equal(version, Assert.Single(change.Messages).Version);
            Assert.Equal(version, changes.Version);
        }

        Assert.Empty((await Store.GetChangesAsync("bob", version, 10)).Changes);
        Assert.Empty(await Store.SearchAsync("bob", null, "first", null, 10));
        Assert.Single(await Store.SearchAsync("bob", null, "SECOND", null, 10));

        // A revoke (or an erasure) leaves no earlier text behind.
        await CommitAsync(b => b.Revocations.Add(new Revocation("g1", 1)));
        Assert.Empty(await Store.GetRevisionsAsync("g1", 1));
        Assert.Empty(await Store.SearchAsync("bob", null, "second", null, 10));
    }

    /// <summary>
    /// Stop 38 (the sync statement finds each conversation's window as "from the lowest seq of the newest <c>limit</c>
    /// visible rows up"): rows changed above the cursor need not be contiguous (edits raise the versions of old rows in
    /// the middle of the history), and a member who joined late or left (twice) sees only their periods. For every user and
    /// window size, a resume returns exactly the newest <c>limit</c> of the changed rows the user may see, ascending,
    /// truncated when more exist; a fresh sync likewise over the whole visible history.
    /// </summary>
    [StoreFact]
    public async Task GetChanges_ChangedRowsScatteredThroughTheHistory_EveryWindowIsTheNewestVisibleOnes()
    {
        await CommitAsync(b => b.Conversations.Add(Group("gw", "alice", ["alice", "bob", "carol"])));
        for (var s = 1; s <= 30; s++)
        {
            var seq = s;
            await CommitAsync(b => b.Messages.Add(Message("gw", seq, seq % 2 == 0 ? "alice" : "bob")));
        }

        // Carol left after seq 12, came back at 16 and left again after 18 (periods 1..12 and 16..18); Dave joined at seq 21.
        await CommitAsync(b => b.MemberChanges.Add(new MemberChange("gw", "carol", MemberRole.Member, "", 0, 0, "", false, 1, 12, NextVersion())));
        await CommitAsync(b => b.MemberChanges.Add(new MemberChange("gw", "carol", MemberRole.Member, "", 0, 0, "", true, 16, 0, NextVersion())));
        await CommitAsync(b => b.MemberChanges.Add(new MemberChange("gw", "carol", MemberRole.Member, "", 0, 0, "", false, 16, 18, NextVersion())));
        await CommitAsync(b => b.MemberChanges.Add(new MemberChange("gw", "dave", MemberRole.Member, "", 0, 0, "", true, 21, 0, NextVersion())));
        var cursor = await Store.GetMaxVersionAsync();

        long[] edited = [3, 10, 15, 22, 25, 28];
        foreach (var seq in edited)
        {
            await CommitAsync(b => b.MessageUpdates.Add(new MessageUpdate("gw", seq, [1], NextVersion())));
        }

        await CommitAsync(b => b.Revocations.Add(new Revocation("gw", 25)));
        await CommitAsync(b => b.Messages.Add(Message("gw", 31, "alice")));
        await CommitAsync(b => b.Messages.Add(Message("gw", 32, "dave")));

        var all = Enumerable.Range(1, 32).Select(s => (long)s).ToArray();
        var changed = edited.Concat([31L, 32L]).ToArray();
        var visible = new Dictionary<string, Func<long, bool>>
        {
            ["alice"] = _ => true,
            ["bob"] = _ => true,
            ["carol"] = s => s <= 12 || s is >= 16 and <= 18,
            ["dave"] = s => s >= 21,
        };

        foreach (var limit in new[] { 1, 2, 3, 5, 8, 40 })
        {
            foreach (var (user, sees) in visible)
            {
                var fresh = Assert.Single((await Store.GetChangesAsync(user, 0, limit)).Changes);
                var expected = all.Where(sees).ToList();
                Assert.Equal(expected.TakeLast(limit), fresh.Messages.Select(m => m.Seq));
                Assert.Equal(expected.Count > limit, fresh.Truncated);

                // A former member sees the conversation as it was at the end of their last period.
                Assert.Equal(expected[^1], fresh.Conversation.MaxSeq);
                Assert.Equal(expected[^1], fresh.Conversation.LastMessage!.Seq);

                var resume = (await Store.GetChangesAsync(user, cursor, limit)).Changes;
                if (user == "carol")
                {
                    // A former member's conversation does not change for them after they left.
                    Assert.Empty(resume);
                    continue;
                }

                var change = Assert.Single(resume);
                expected = changed.Where(sees).ToList();
                Assert.Equal(expected.TakeLast(limit), change.Messages.Select(m => m.Seq));
                Assert.Equal(expected.Count > limit, change.Truncated);
                Assert.All(change.Messages, m => Assert.True(m.Version > cursor));
                Assert.Equal(change.Messages.Any(m => m.Seq == 25), change.Messages.Any(m => m.Revoked));
            }
        }
    }

    [StoreFact]
    public async Task Thread_RepliesByRoot_PagedAscending()
    {
        await CreateDirectAsync("d1", "alice", "bob");
        await CommitAsync(b =>
        {
            b.Messages.Add(Message("d1", 1, "alice"));
            b.Messages.Add(Message("d1", 2, "bob") with { ReplyToSeq = 1 });
            b.Messages.Add(Message("d1", 3, "bob"));
            b.Messages.Add(Message("d1", 4, "alice") with { ReplyToSeq = 1 });
            b.Messages.Add(Message("d1", 5, "alice") with { ReplyToSeq = 3 });
        });

        Assert.Equal([2L, 4L], (await Store.ReadThreadAsync("d1", 1, 0, 10)).Select(m => m.Seq));
        Assert.Equal([2L], (await Store.ReadThreadAsync("d1", 1, 0, 1)).Select(m => m.Seq));
        Assert.Equal([4L], (await Store.ReadThreadAsync("d1", 1, 2, 10)).Select(m => m.Seq));
        Assert.Equal(1, (await Store.GetMessageAsync("d1", 4))!.ReplyToSeq);
    }

    [StoreFact]
    public async Task Search_ChineseAndEnglishSubstrings_NewestFirst_Paged_RevokedGone()
    {
        await CreateDirectAsync("d1", "alice", "bob");
        await CreateDirectAsync("d2", "alice", "carol");
        await CommitAsync(b =>
        {
            b.Messages.Add(Message("d1", 1, "alice", serverTime: 10) with { SearchText = "明天下午开会讨论预算" });
            b.Messages.Add(Message("d1", 2, "bob", serverTime: 20) with { SearchText = "The Budget meeting moved" });
            b.Messages.Add(Message("d2", 1, "carol", serverTime: 25) with { SearchText = "carol's budget" });
            b.Messages.Add(Message("d1", 3, "bob", serverTime: 30) with { SearchText = "budget 预算 approved" });
        });

        Assert.Equal([("d1", 1L), ("d1", 3L)], Hits(await Store.SearchAsync("bob", null, "讨论预算", null, 10)).Concat(Hits(await Store.SearchAsync("bob", null, "预算 a", null, 10))));
        Assert.Equal([("d1", 3L), ("d1", 2L)], Hits(await Store.SearchAsync("bob", null, "BUDGET", null, 10)));
        Assert.Equal([("d1", 3L), ("d2", 1L), ("d1", 2L)], Hits(await Store.SearchAsync("alice", null, "budget", null, 10)));
        Assert.Equal([("d2", 1L)], Hits(await Store.SearchAsync("alice", "d2", "budget", null, 10)));

        var first = await Store.SearchAsync("alice", null, "budget", null, 2);
        var last = first[^1].Message;
        Assert.Equal([("d1", 2L)], Hits(await Store.SearchAsync("alice", null, "budget", new SearchPosition(last.ServerTime, last.ConversationId, last.Seq), 2)));
        Assert.Equal("budget 预算 approved", first[0].Text);

        await CommitAsync(b => b.Revocations.Add(new Revocation("d1", 3)));
        Assert.Equal([("d1", 2L)], Hits(await Store.SearchAsync("bob", null, "budget", null, 10)));
        Assert.Empty(await Store.SearchAsync("bob", null, "50%_off", null, 10));
    }

    /// <summary>
    /// ADR 0027: a text send read from its frame gives the store its search text as UTF-8 bytes inside the row's content
    /// (<see cref="StoredMessage.SearchTextStart"/>, <see cref="StoredMessage.SearchTextLength"/>), not as a string. It is
    /// indexed exactly as the same text given as a string: found by the same words, its snippet the same text, and only
    /// those bytes (not the content's other bytes around them).
    /// </summary>
    [StoreFact]
    public async Task Search_TextAsUtf8BytesOfTheContent_IndexedAsTheSameString()
    {
        await CreateDirectAsync("d1", "alice", "bob");
        static byte[] Around(string text) => [0x0A, 0x7F, .. "zzprefix "u8, .. Body(text), .. " zzsuffix"u8];
        await CommitAsync(b =>
        {
            b.Messages.Add(Message("d1", 1, "alice", serverTime: 10) with { Content = Around("明天下午开会讨论预算"), SearchTextStart = 11, SearchTextLength = Body("明天下午开会讨论预算").Length });
            b.Messages.Add(Message("d1", 2, "bob", serverTime: 20) with { SearchText = "The Budget meeting moved" });
            b.Messages.Add(Message("d1", 3, "bob", serverTime: 30) with { Content = Around("budget 预算 approved"), SearchTextStart = 11, SearchTextLength = Body("budget 预算 approved").Length });
        });

        Assert.Equal([("d1", 1L), ("d1", 3L)], Hits(await Store.SearchAsync("bob", null, "讨论预算", null, 10)).Concat(Hits(await Store.SearchAsync("bob", null, "预算 a", null, 10))));
        var budget = await Store.SearchAsync("alice", null, "BUDGET", null, 10);
        Assert.Equal([("d1", 3L), ("d1", 2L)], Hits(budget));
        Assert.Equal("budget 预算 approved", budget[0].Text);
        Assert.Empty(await Store.SearchAsync("alice", null, "zzprefix", null, 10));
        Assert.Empty(await Store.SearchAsync("alice", null, "zzsuffix", null, 10));
    }

    /// <summary>
    /// A very common word costs a bounded amount per page: the store looks at no more than maxScanned index matches below the
    /// cursor in the conversations searched (the user's, or the one asked for), those the user may not see included (here:
    /// a group's messages from before bob joined). Other users' conversations never count. A page that stops there short
    /// says so; paging on from its last hit with a large enough window reaches every older hit; a window without one
    /// visible hit comes back empty and flagged.
    /// </summary>
    [StoreFact]
    public async Task Search_LooksAtABoundedWindowOfMatches_ShortPagesSaySo()
    {
        await CreateDirectAsync("mine", "alice", "bob");
        await CreateDirectAsync("theirs", "carol", "dave");
        await CommitAsync(b => b.Conversations.Add(Group("grp", "alice", ["alice"])));
        var time = 100L;
        void Add(CommitBatch b, string conversation, int from, int to, string sender)
        {
            for (var s = from; s <= to; s++)
            {
                b.Messages.Add(Message(conversation, s, sender, serverTime: time++) with { SearchText = "common word " + s });
            }
        }

        await CommitAsync(b => Add(b, "mine", 1, 3, "alice"));
        await CommitAsync(b => Add(b, "grp", 1, 12, "alice"));
        await CommitAsync(b => b.MemberChanges.Add(new MemberChange("grp", "bob", MemberRole.Member, "", 0, 0, "", true, 13, 0, NextVersion())));
        await CommitAsync(b => Add(b, "grp", 13, 14, "alice"));
        await CommitAsync(b => Add(b, "theirs", 1, 12, "carol"));
        await CommitAsync(b => Add(b, "mine", 4, 5, "alice"));
        (string, long)[] visible = [("mine", 5L), ("mine", 4L), ("grp", 14L), ("grp", 13L), ("mine", 3L), ("mine", 2L), ("mine", 1L)];

        var all = await Store.SearchAsync("bob", null, "common", null, 10);
        Assert.Equal(visible, Hits(all));
        Assert.False(all.ScanLimitReached);

        // The newest 5 matches in bob's conversations (carol's twelve, newer, do not count): four he may see and grp's 12th.
        var first = await Store.SearchAsync("bob", null, "common", null, 10, maxScanned: 5);
        Assert.Equal(visible[..4], Hits(first));
        Assert.True(first.ScanLimitReached);

        // Below its last hit the next 5 matches are grp's from before bob joined.
        var after = new SearchPosition(first[^1].Message.ServerTime, first[^1].Message.ConversationId, first[^1].Message.Seq);
        var none = await Store.SearchAsync("bob", null, "common", after, 10, maxScanned: 5);
        Assert.Empty(none);
        Assert.True(none.ScanLimitReached);
        var older = await Store.SearchAsync("bob", null, "common", after, 10, maxScanned: 20);
        Assert.Equal(visible[4..], Hits(older));
        Assert.False(older.ScanLimitReached);

        // A full page is not flagged; in one conversation only its own matches count, so a window of 2 pages through all.
        var found = new List<(string, long)>();
        SearchPosition? cursor = null;
        for (var pages = 0; pages < 10; pages++)
        {
            var page = await Store.SearchAsync("bob", "mine", "common", cursor, 2, maxScanned: 2);
            Assert.False(page.ScanLimitReached);
            found.AddRange(Hits(page));
            if (page.Count < 2)
            {
                break;
            }

            cursor = new SearchPosition(page[^1].Message.ServerTime, page[^1].Message.ConversationId, page[^1].Message.Seq);
        }

        Assert.Equal(visible.Where(v => v.Item1 == "mine"), found);
    }

    /// <summary>
    /// Issue 18: a search of one conversation the user was never a member of returns nothing and says nothing more: not
    /// even that its window ran out, which would tell how common the word is there (the core turns a flagged empty page
    /// into an error, so the difference showed). A member of it still gets the flag.
    /// </summary>
    [StoreFact]
    public async Task Search_OneConversationOfOthers_NothingAndNoWindowFlag()
    {
        await CreateDirectAsync("theirs", "carol", "dave");
        await CommitAsync(b => b.Conversations.Add(Group("grp", "alice", ["alice"])));
        await CommitAsync(b => b.Messages.AddRange(Enumerable.Range(1, 30).Select(s => Message("theirs", s, "carol", serverTime: 100 + s) with { SearchText = "secret plan " + s })));
        await CommitAsync(b => b.Messages.AddRange(Enumerable.Range(1, 30).Select(s => Message("grp", s, "alice", serverTime: 200 + s) with { SearchText = "secret plan " + s })));
        await CommitAsync(b => b.MemberChanges.Add(new MemberChange("grp", "bob", MemberRole.Member, "", 0, 0, "", true, 31, 0, NextVersion())));

        var stranger = await Store.SearchAsync("bob", "theirs", "secret", null, 10, maxScanned: 10);
        Assert.Empty(stranger);
        Assert.False(stranger.ScanLimitReached);
        Assert.Null(stranger.ContinueBelow);

        // Bob joined grp after its 30 matches: nothing he may see, and the window ran out.
        var newcomer = await Store.SearchAsync("bob", "grp", "secret", null, 10, maxScanned: 10);
        Assert.Empty(newcomer);
        Assert.True(newcomer.ScanLimitReached);
        Assert.Equal(10, (await Store.SearchAsync("dave", "theirs", "secret", null, 10, maxScanned: 10)).Count);
    }

    /// <summary>
    /// Issue 18: a search restricted to one conversation, or to the user's conversations, finds its matches however common
    /// the word is in conversations the user is not in: here 400 newer matches of other users against a window of 50, and
    /// a user in 300 conversations (more than one chunk of conversation keys in the SQLite store), paged through to the end.
    /// </summary>
    [StoreFact]
    public async Task Search_FindsTheUsersMatches_HoweverCommonTheWordIsElsewhere()
    {
        const int Mine = 300;
        await CommitAsync(b =>
        {
            for (var c = 0; c < Mine; c++)
            {
                b.Conversations.Add(Direct("bob-" + c.ToString("D3", CultureInfo.InvariantCulture), "bob", "peer" + c.ToString(CultureInfo.InvariantCulture)));
            }

            for (var c = 0; c < 8; c++)
            {
                b.Conversations.Add(Direct("other-" + c.ToString(CultureInfo.InvariantCulture), "carol", "x" + c.ToString(CultureInfo.InvariantCulture)));
            }
        });

        var time = 1000L;
        await CommitAsync(b =>
        {
            // Bob's matches are the oldest: one per conversation, and a few words that are not matches between them.
            for (var c = 0; c < Mine; c++)
            {
                var id = "bob-" + c.ToString("D3", CultureInfo.InvariantCulture);
                b.Messages.Add(Message(id, 1, "bob", serverTime: time++) with { SearchText = "needle for bob " + c.ToString(CultureInfo.InvariantCulture) });
                b.Messages.Add(Message(id, 2, "bob", serverTime: time++) with { SearchText = "hay " + c.ToString(CultureInfo.InvariantCulture) });
            }
        });
        for (var round = 0; round < 4; round++)
        {
            await CommitAsync(b =>
            {
                for (var k = round * 100; k < (round + 1) * 100; k++)
                {
                    b.Messages.Add(Message("other-" + (k % 8).ToString(CultureInfo.InvariantCulture), (k / 8) + 1, "carol", serverTime: time++) with { SearchText = "needle elsewhere" });
                }
            });
        }

        // One conversation: its one match, first page, whatever the window.
        var one = await Store.SearchAsync("bob", "bob-007", "needle", null, 10, maxScanned: 50);
        Assert.Equal([("bob-007", 1L)], Hits(one));
        Assert.False(one.ScanLimitReached);
        Assert.Empty(await Store.SearchAsync("bob", "other-1", "needle", null, 10, maxScanned: 50));

        // All of bob's conversations: every one of his 300 matches, newest first, each once, in pages of 20.
        var found = new List<(string, long)>();
        SearchPosition? cursor = null;
        for (var pages = 0; pages < 100; pages++)
        {
            var page = await Store.SearchAsync("bob", null, "needle", cursor, 20, maxScanned: 50);
            Assert.True(page.Count > 0 || !page.ScanLimitReached, "a window in bob's conversations held nothing he may see");
            found.AddRange(Hits(page));
            if (page.Count < 20 && !page.ScanLimitReached)
            {
                break;
            }

            cursor = new SearchPosition(page[^1].Message.ServerTime, page[^1].Message.ConversationId, page[^1].Message.Seq);
        }

        var expected = Enumerable.Range(0, Mine).Reverse().Select(c => ("bob-" + c.ToString("D3", CultureInfo.InvariantCulture), 1L)).ToList();
        Assert.Equal(expected, found);
    }

    [StoreFact]
    public async Task Mentions_RaiseMentionSeqUntilRead()
    {
        await CommitAsync(b => b.Conversations.Add(Group("g1", "alice", ["alice", "bob", "carol"])));
        await CommitAsync(b => b.Messages.Add(Message("g1", 1, "alice") with { MentionedUserIds = ["bob"] }));
        Assert.Equal(1, (await Store.GetConversationViewAsync("bob", "g1"))!.MentionSeq);
        Assert.Equal(0, (await Store.GetConversationViewAsync("carol", "g1"))!.MentionSeq);

        await CommitAsync(b => b.Messages.Add(Message("g1", 2, "alice") with { MentionAll = true }));
        Assert.Equal(2, (await Store.GetConversationViewAsync("carol", "g1"))!.MentionSeq);
        Assert.Equal(0, (await Store.GetConversationViewAsync("alice", "g1"))!.MentionSeq);

        await CommitAsync(b => b.ReadCursors.Add(new ReadCursorUpdate("g1", "carol", 2, NextVersion())));
        Assert.Equal(0, (await Store.GetConversationViewAsync("carol", "g1"))!.MentionSeq);
    }

    /// <summary>
    /// Property (issue 17, the set-based sync): a fresh device's sync (cursor 0) over many conversations with random
    /// membership histories, long and short histories and revokes returns, for every conversation the user has a member row
    /// in, exactly the newest <c>limit</c> messages the user may see, ascending, flagged truncated when more exist; a resume
    /// from its version returns exactly what was committed after it, and nothing once caught up.
    /// </summary>
    [StoreFact]
    public async Task GetChanges_FreshDeviceOverManyConversations_NewestVisibleWindowPerConversation_ThenResumeFromTheCursor()
    {
        const int Limit = 5;
        var random = new Random(17);
        string[] users = ["u0", "u1", "u2", "u3", "u4"];
        var periods = new List<(string User, string Conversation, long From, long To)>();
        var seqs = new Dictionary<string, long>();
        var members = new Dictionary<string, Dictionary<string, long>>();
        var versions = new Dictionary<(string Conversation, long Seq), long>();
        var revoked = new HashSet<(string Conversation, long Seq)>();

        async Task SendAsync(string conversation, string sender)
        {
            var s = seqs[conversation] + 1;
            seqs[conversation] = s;
            var message = Message(conversation, s, sender);
            versions[(conversation, s)] = message.Version;
            await CommitAsync(b => b.Messages.Add(message));
        }

        // Direct conversations: empty, shorter than the window, exactly the window, far longer (the history is not read).
        int[] lengths = [0, 1, Limit, Limit + 1, 60];
        for (var i = 0; i < lengths.Length; i++)
        {
            var conversation = "fd" + i;
            var peer = users[1 + (i % 4)];
            await CreateDirectAsync(conversation, "u0", peer);
            seqs[conversation] = 0;
            members[conversation] = new() { ["u0"] = 1, [peer] = 1 };
            for (var m = 0; m < lengths[i]; m++)
            {
                await SendAsync(conversation, m % 2 == 0 ? "u0" : peer);
            }
        }

        // Groups with random joins (from the next seq or the whole history), leaves, rejoins and revokes.
        for (var c = 0; c < 6; c++)
        {
            var conversation = "fg" + c;
            await CommitAsync(b => b.Conversations.Add(Group(conversation, "u0", ["u0"])));
            seqs[conversation] = 0;
            var active = members[conversation] = new() { ["u0"] = 1 };
            for (var step = 0; step < 30; step++)
            {
                var user = users[random.Next(users.Length)];
                var roll = random.Next(10);
                if (roll < 2 && !active.ContainsKey(user))
                {
                    var from = random.Next(2) == 0 ? seqs[conversation] + 1 : 1;
                    active[user] = from;
                    await CommitAsync(b => b.MemberChanges.Add(new MemberChange(conversation, user, MemberRole.Member, "", 0, 0, "", true, from, 0, NextVersion())));
                }
                else if (roll < 4 && user != "u0" && active.Remove(user, out var from))
                {
                    var to = seqs[conversation];
                    periods.Add((user, conversation, from, to));
                    await CommitAsync(b => b.MemberChanges.Add(new MemberChange(conversation, user, MemberRole.Member, "", 0, 0, "", false, from, to, NextVersion())));
                }
                else if (roll < 5 && seqs[conversation] > 0)
                {
                    // A revoked row stays (empty, flagged) and is synced like any other.
                    var target = random.NextInt64(1, seqs[conversation] + 1);
                    revoked.Add((conversation, target));
                    await CommitAsync(b => b.Revocations.Add(new Revocation(conversation, target)));
                }
                else
                {
                    await SendAsync(conversation, active.Keys.ElementAt(random.Next(active.Count)));
                }
            }
        }

        // The oracle: what a user may see of a conversation (closed periods, and the open one up to the max seq), above a cursor.
        List<long> Expected(string user, string conversation, long cursor)
        {
            var mine = periods.Where(p => p.User == user && p.Conversation == conversation).Select(p => (p.From, p.To)).ToList();
            if (members[conversation].TryGetValue(user, out var openFrom))
            {
                mine.Add((openFrom, seqs[conversation]));
            }

            return [.. Enumerable.Range(1, (int)seqs[conversation]).Select(s => (long)s)
                .Where(s => mine.Any(p => s >= p.From && s <= p.To) && versions[(conversation, s)] > cursor)];
        }

        bool HasRow(string user, string conversation) =>
            members[conversation].ContainsKey(user) || periods.Any(p => p.User == user && p.Conversation == conversation);

        void AssertWindow(ConversationChange change, List<long> expected)
        {
            var id = change.Conversation.ConversationId;
            Assert.Equal(expected.TakeLast(Limit), change.Messages.Select(m => m.Seq));
            Assert.Equal(expected.Count > Limit, change.Truncated);
            Assert.All(change.Messages, m =>
            {
                Assert.Equal(id, m.ConversationId);
                Assert.Equal(versions[(id, m.Seq)], m.Version);
                Assert.Equal(revoked.Contains((id, m.Seq)), m.Revoked);
            });
        }

        var cursors = new Dictionary<string, long>();
        foreach (var user in users)
        {
            var snapshot = await Store.GetChangesAsync(user, 0, Limit);
            Assert.Equal(await Store.GetMaxVersionAsync(), snapshot.Version);
            var byId = snapshot.Changes.ToDictionary(c => c.Conversation.ConversationId);
            Assert.Equal(seqs.Keys.Where(c => HasRow(user, c)).Order(), byId.Keys.Order());
            foreach (var (id, change) in byId)
            {
                var expected = Expected(user, id, 0);
                AssertWindow(change, expected);
                var window = change.Messages.Select(m => m.Seq).ToList();
                if (members[id].ContainsKey(user) && !periods.Any(p => p.User == user && p.Conversation == id) && window.Count > 0)
                {
                    // One open period: the window is gapless and ends at the conversation's max seq.
                    Assert.Equal(Enumerable.Range(0, window.Count).Select(k => window[0] + k), window);
                    Assert.Equal(seqs[id], window[^1]);
                }
            }

            cursors[user] = snapshot.Version;
        }

        Assert.True(periods.Count > 3, "the random histories produced too few closed periods to mean anything");

        // New messages after the cursors: each user's resume returns exactly those it may see, then nothing.
        foreach (var conversation in new[] { "fd1", "fd4", "fg0", "fg3" })
        {
            for (var m = 0; m < 3; m++)
            {
                await SendAsync(conversation, "u0");
            }
        }

        foreach (var user in users)
        {
            var resume = await Store.GetChangesAsync(user, cursors[user], Limit);
            foreach (var change in resume.Changes)
            {
                AssertWindow(change, Expected(user, change.Conversation.ConversationId, cursors[user]));
            }

            var withNew = seqs.Keys.Where(c => Expected(user, c, cursors[user]).Count > 0).Order();
            Assert.Equal(withNew, resume.Changes.Where(c => c.Messages.Count > 0).Select(c => c.Conversation.ConversationId).Order());
            Assert.Empty((await Store.GetChangesAsync(user, resume.Version, Limit)).Changes);
        }
    }

    /// <summary>
    /// Property: over random membership histories (joins, leaves, rejoins, revokes, several conversations), search returns
    /// exactly the non-revoked messages inside the user's membership periods, never another one.
    /// </summary>
    [StoreFact]
    public async Task Search_RandomMembershipHistories_NeverReturnsWhatTheUserMayNotSee()
    {
        var histories = await CommitRandomMembershipHistoriesAsync(18);
        foreach (var user in RandomHistoryUsers)
        {
            var found = new List<(string, long)>();
            SearchPosition? after = null;
            while (true)
            {
                var page = await Store.SearchAsync(user, null, "needle", after, 7);
                found.AddRange(Hits(page));
                if (page.Count < 7)
                {
                    break;
                }

                var last = page[^1].Message;
                after = new SearchPosition(last.ServerTime, last.ConversationId, last.Seq);
            }

            Assert.Equal(found.Count, found.Distinct().Count());
            Assert.Equal(histories.Expected(user, null).Order().ToList(), found.OrderBy(x => x).ToList());
        }

        Assert.True(histories.Visible.Count > 50, "the random histories produced too few visible messages to mean anything");
    }

    /// <summary>The users of <see cref="CommitRandomMembershipHistoriesAsync"/>.</summary>
    protected static readonly string[] RandomHistoryUsers = ["u0", "u1", "u2", "u3", "u4"];

    /// <summary>
    /// Random membership histories for search's property tests: groups p0..p3 of <see cref="RandomHistoryUsers"/> (u0 their
    /// owner) with joins (seeing from the next seq or the whole history), leaves, rejoins, revokes and messages
    /// "needle p/s". With <paramref name="noise"/> above 0, about that many in ten steps also commit a "needle" message
    /// in one of four direct conversations of users outside (x0..x3), so other users' matches lie between theirs.
    /// </summary>
    protected async Task<RandomSearchHistories> CommitRandomMembershipHistoriesAsync(int seed, int noise = 0)
    {
        var random = new Random(seed);
        var users = RandomHistoryUsers;
        var periods = new List<(string User, string Conversation, long From, long To)>();
        var maxSeqs = new Dictionary<string, long>();
        var revoked = new HashSet<(string Conversation, long Seq)>();
        var noiseSeqs = new long[4];
        if (noise > 0)
        {
            await CommitAsync(b => b.Conversations.AddRange(Enumerable.Range(0, 4).Select(x => Direct("x" + x, "xa" + x, "xb" + x))));
        }

        for (var c = 0; c < 4; c++)
        {
            var conversation = "p" + c;
            await CommitAsync(b => b.Conversations.Add(Group(conversation, "u0", ["u0"])));
            var active = new Dictionary<string, long> { ["u0"] = 1 };
            var seq = 0L;
            for (var step = 0; step < 40; step++)
            {
                if (noise > 0 && random.Next(10) < noise)
                {
                    var x = random.Next(4);
                    var s = ++noiseSeqs[x];
                    await CommitAsync(b => b.Messages.Add(Message("x" + x, s, "xa" + x, serverTime: 500 + (100 * c) + step) with { SearchText = $"needle x{x}/{s}" }));
                }

                var user = users[random.Next(users.Length)];
                var roll = random.Next(10);
                if (roll < 2 && !active.ContainsKey(user))
                {
                    // Join: sees from the next seq on (or the whole history when the group shows it to newcomers).
                    var from = random.Next(2) == 0 ? seq + 1 : 1;
                    active[user] = from;
                    await CommitAsync(b => b.MemberChanges.Add(new MemberChange(conversation, user, MemberRole.Member, "", 0, 0, "", true, from, 0, NextVersion())));
                }
                else if (roll < 4 && user != "u0" && active.Remove(user, out var from))
                {
                    var to = seq;
                    periods.Add((user, conversation, from, to));
                    await CommitAsync(b => b.MemberChanges.Add(new MemberChange(conversation, user, MemberRole.Member, "", 0, 0, "", false, from, to, NextVersion())));
                }
                else if (roll < 5 && seq > 0)
                {
                    var target = random.NextInt64(1, seq + 1);
                    revoked.Add((conversation, target));
                    await CommitAsync(b => b.Revocations.Add(new Revocation(conversation, target)));
                }
                else
                {
                    var s = ++seq;
                    var sender = active.Keys.ElementAt(random.Next(active.Count));
                    await CommitAsync(b => b.Messages.Add(Message(conversation, s, sender, serverTime: 1000 + s) with { SearchText = $"needle {conversation}/{s}" }));
                }
            }

            maxSeqs[conversation] = seq;
            periods.AddRange(active.Select(a => (a.Key, conversation, a.Value, seq)));
        }

        // Every seq inside one of the user's periods (closed ones, and the open one up to the max seq).
        var visible = periods
            .SelectMany(p => Enumerable.Range(1, (int)maxSeqs[p.Conversation]).Where(s => s >= p.From && s <= p.To).Select(s => (p.User, p.Conversation, Seq: (long)s)))
            .ToHashSet();
        return new RandomSearchHistories(visible, revoked);
    }

    [StoreFact]
    public async Task Search_IndexedAfterTheCommit_FromADurableQueue_EditAndRevokeBeforeTheIndexerLeaveNoStaleText()
    {
        // ADR 0019: a commit queues its texts; nothing here searches until the queue was checked.
        var queue = Assert.IsAssignableFrom<ISearchIndexQueue>(Store);
        await CreateDirectAsync("d1", "alice", "bob");
        await CommitAsync(b =>
        {
            b.Messages.Add(Message("d1", 1, "alice") with { SearchText = "alpha stays" });
            b.Messages.Add(Message("d1", 2, "alice") with { SearchText = "bravo typo" });
            b.Messages.Add(Message("d1", 3, "alice") with { SearchText = "charlie secret" });
            b.Messages.Add(Message("d1", 4, "bob") with { SearchText = "delta queued" });
            b.Messages.Add(Message("d1", 5, "bob"));
        });

        // An edit and a revoke committed before the indexer ran: the edit indexes its new text itself and the revoke
        // drops the text, so neither queued text can be indexed later.
        await CommitAsync(b => b.MessageUpdates.Add(new MessageUpdate("d1", 2, [1], NextVersion()) { Content = Body("bravo fixed"), SearchText = "bravo fixed" }));
        await CommitAsync(b => b.Revocations.Add(new Revocation("d1", 3)));

        // The queue holds messages 1 and 4 only; taken a batch at a time, each once.
        Assert.Equal(1, await queue.IndexPendingAsync(1));
        Assert.Equal(1, await queue.IndexPendingAsync(10));
        Assert.Equal(0, await queue.IndexPendingAsync(10));
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => queue.IndexPendingAsync(0));

        Assert.Equal([("d1", 1L)], Hits(await Store.SearchAsync("bob", null, "alpha", null, 10)));
        Assert.Equal([("d1", 2L)], Hits(await Store.SearchAsync("bob", null, "bravo", null, 10)));
        Assert.Empty(await Store.SearchAsync("bob", null, "typo", null, 10));
        Assert.Empty(await Store.SearchAsync("bob", null, "charlie", null, 10));
        Assert.Equal([("d1", 4L)], Hits(await Store.SearchAsync("alice", null, "delta", null, 10)));

        // Committed, never indexed, and the process gone: the queue is in the database, so another store over the same
        // storage (a restart) finds the message at its first search, and its indexer then has nothing left.
        // (Its content holds the text too: a store that queues in memory reads the text back from the content after a restart.)
        await CommitAsync(b => b.Messages.Add(Message("d1", 6, "bob", text: "echo after restart") with { SearchText = "echo after restart" }));
        var restarted = CreateStore();
        try
        {
            await restarted.InitializeAsync();
            Assert.Equal([("d1", 6L)], Hits(await restarted.SearchAsync("alice", null, "ECHO", null, 10)));
            Assert.Equal(0, await ((ISearchIndexQueue)restarted).IndexPendingAsync(10));
        }
        finally
        {
            if (restarted is IAsyncDisposable disposable)
            {
                await disposable.DisposeAsync();
            }
        }

        // After indexing, an edit and a revoke change the index at once.
        await CommitAsync(b => b.MessageUpdates.Add(new MessageUpdate("d1", 4, [1], NextVersion()) { Content = Body("delta changed"), SearchText = "delta changed" }));
        await CommitAsync(b => b.Revocations.Add(new Revocation("d1", 1)));
        Assert.Equal(0, await queue.IndexPendingAsync(10));
        Assert.Empty(await Store.SearchAsync("bob", null, "queued", null, 10));
        Assert.Equal([("d1", 4L)], Hits(await Store.SearchAsync("bob", null, "changed", null, 10)));
        Assert.Empty(await Store.SearchAsync("bob", null, "alpha", null, 10));
    }

    protected static List<(string, long)> Hits(IReadOnlyList<SearchMatch> matches) => [.. matches.Select(m => (m.Message.ConversationId, m.Message.Seq))];
}

/// <summary>
/// What <see cref="MessageStoreComplianceTests"/>' random membership histories committed: every (user, conversation, seq)
/// inside one of the user's membership periods, and the revoked messages.
/// </summary>
public sealed record RandomSearchHistories(HashSet<(string User, string Conversation, long Seq)> Visible, HashSet<(string Conversation, long Seq)> Revoked)
{
    /// <summary>The oracle: the messages <paramref name="user"/> may find, in one conversation or (null) in all.</summary>
    public HashSet<(string Conversation, long Seq)> Expected(string user, string? conversation) =>
        Visible.Where(v => v.User == user && (conversation is null || v.Conversation == conversation) && !Revoked.Contains((v.Conversation, v.Seq)))
            .Select(v => (v.Conversation, v.Seq)).ToHashSet();
}
