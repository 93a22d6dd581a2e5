using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Microsoft.Data.Sqlite;
using Parley.Protocol.V1;
using Parley.Push.Tests.Simulators;
using Parley.Sdk;
using static Parley.Push.Tests.PushEndToEndTests;
using ErrorCode = Parley.Protocol.V1.ErrorCode;

namespace Parley.Push.Tests;

/// <summary>
/// Push for super groups (read diffusion, ADR 0017, docs/push.md §8) on the real server with real SDK clients and the
/// loopback FCM simulator: mentions and replies push the addressed offline members only, plain messages only a periodic
/// digest, muted members nothing, @all a chunked fan-out over the member pages.
/// </summary>
public sealed class SuperGroupPushTests
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    [Fact]
    public async Task Mentions_And_Replies_PushTheAddressedOfflineMembersOnly_NeverMutedOrRemoved()
    {
        await using var fcm = new FcmSimulator(TimeProvider.System);
        await fcm.StartAsync();
        await using var server = await StartAsync(fcm, digest: TimeSpan.Zero);
        var g = await SuperGroupAsync(server, "bob", "carol", "dave", "erin");
        var target = new Target { ConversationId = g.ConversationId };

        // A mention: only bob's phone; carol, dave and erin get nothing for it.
        var mention = await g.Owner.SendAsync(target, new Content { Text = new TextContent { Text = "@bob look", MentionUserIds = { g["bob"] } } });
        var rows = await SettledAsync(server, mention.ServerMsgId, expected: 1);
        var bobPush = Assert.Single(rows);
        Assert.Equal((g["bob"], "Accepted"), (bobPush.UserId, bobPush.State));
        await Wait.UntilAsync(() => fcm.RequestsByPushId.ContainsKey(bobPush.PushId), "FCM got bob's mention push");
        var body = Encoding.UTF8.GetString(fcm.Requests.First(r => r.PushId == bobPush.PushId).Body);
        Assert.Contains("@bob look", body, StringComparison.Ordinal);
        Assert.Contains("Town hall", body, StringComparison.Ordinal);

        // A muted member is not pushed even when mentioned.
        var muted = await g.Owner.SendAsync(target, new Content { Text = new TextContent { Text = "@erin", MentionUserIds = { g["erin"] } } });
        var erinRow = Assert.Single(await SettledAsync(server, muted.ServerMsgId, expected: 1));
        Assert.Equal((g["erin"], "Filtered", "muted"), (erinRow.UserId, erinRow.State, erinRow.Reason));
        Assert.False(fcm.RequestsByPushId.ContainsKey(erinRow.PushId));

        // A reply pushes the author of the replied message (a member who is offline), nobody else.
        var carol = await server.ConnectAsync(g["carol"], "web", Platform.Web);
        var question = await carol.SendTextToConversationAsync(g.ConversationId, "when is the meeting?");
        var dave = await server.ConnectAsync(g["dave"], "web", Platform.Web);
        var daves = await dave.SendTextToConversationAsync(g.ConversationId, "me too");
        await carol.DisposeAsync();
        await dave.DisposeAsync();
        var reply = await g.Owner.SendAsync(target, new Content { Text = new TextContent { Text = "at ten" }, ReplyTo = new ReplyTo { Seq = question.Seq, ServerMsgId = question.ServerMsgId } });
        var carolRow = Assert.Single(await SettledAsync(server, reply.ServerMsgId, expected: 1));
        Assert.Equal((g["carol"], "Accepted"), (carolRow.UserId, carolRow.State));

        // Plain messages push nobody at once (digests are off in this server).
        Assert.Empty(await RowsAsync(server, question.ServerMsgId));
        Assert.Empty(await RowsAsync(server, daves.ServerMsgId));

        // A removed member is not pushed for a reply to their earlier message; the mentioned member still is.
        await g.Owner.KickMembersAsync(g.GroupId, [g["dave"]]);
        var late = await g.Owner.SendAsync(target, new Content { Text = new TextContent { Text = "noted @bob", MentionUserIds = { g["bob"] } }, ReplyTo = new ReplyTo { Seq = daves.Seq, ServerMsgId = daves.ServerMsgId } });
        var lateRows = await SettledAsync(server, late.ServerMsgId, expected: 1);
        Assert.Equal([g["bob"]], lateRows.Select(r => r.UserId));
        await Task.Delay(500);
        Assert.DoesNotContain(await RowsAsync(server, late.ServerMsgId), r => r.UserId == g["dave"]);
    }

    [Fact]
    public async Task PlainMessages_NoImmediatePush_OneDigestPerMemberAfterTheInterval_MutedAndReadersNothing()
    {
        await using var fcm = new FcmSimulator(TimeProvider.System);
        await fcm.StartAsync();
        await using var server = await StartAsync(fcm, digest: TimeSpan.FromSeconds(2));
        var g = await SuperGroupAsync(server, "bob", "carol", "erin");

        // carol is online on her laptop and sends the newest message: her cursor is at the top, so she gets no digest
        // (whether or not a round ends between the two messages).
        var carol = await server.ConnectAsync(g["carol"], "web", Platform.Web);
        var first = await g.Owner.SendTextToConversationAsync(g.ConversationId, "one");
        var second = await carol.SendTextToConversationAsync(g.ConversationId, "two");

        var digestId = $"digest-{g.ConversationId}-{second.Seq}";
        var rows = await SettledAsync(server, digestId, expected: 2);
        var bobDigest = rows.Single(r => r.UserId == g["bob"]);
        Assert.Equal("Accepted", bobDigest.State);
        var erinDigest = rows.Single(r => r.UserId == g["erin"]);
        Assert.Equal(("Filtered", "muted"), (erinDigest.State, erinDigest.Reason));
        Assert.DoesNotContain(rows, r => r.UserId == g["carol"] || r.UserId == g.OwnerId);
        await Wait.UntilAsync(() => fcm.RequestsByPushId.ContainsKey(bobDigest.PushId), "FCM got bob's digest");
        var body = Encoding.UTF8.GetString(fcm.Requests.First(r => r.PushId == bobDigest.PushId).Body);
        Assert.Contains("Town hall", body, StringComparison.Ordinal);
        Assert.Contains("new message", body, StringComparison.Ordinal);
        Assert.DoesNotContain("two", body, StringComparison.Ordinal); // a digest names no message content
        Assert.False(fcm.RequestsByPushId.ContainsKey(erinDigest.PushId));

        // The messages themselves were never pushed, and rounds without messages send no further digest.
        Assert.Empty(await RowsAsync(server, first.ServerMsgId));
        Assert.Empty(await RowsAsync(server, second.ServerMsgId));
        var sent = fcm.Requests.Count;
        await Task.Delay(TimeSpan.FromSeconds(4.5));
        Assert.Equal(sent, fcm.Requests.Count);
        Assert.Equal(1, fcm.RequestsByPushId[bobDigest.PushId]);

        // A new message starts a new round: one more digest for bob.
        var third = await g.Owner.SendTextToConversationAsync(g.ConversationId, "three");
        await carol.MarkReadAsync(g.ConversationId, third.Seq);
        var next = await PushesAsync(server, $"digest-{g.ConversationId}-{third.Seq}", expected: 1);
        Assert.Equal("Accepted", next.Single(r => r.UserId == g["bob"]).State);
        await carol.DisposeAsync();
    }

    [Fact]
    public async Task MentionAll_ByAnAdmin_IsAChunkedFanOutToEveryMemberWhoMaySeeIt()
    {
        await using var fcm = new FcmSimulator(TimeProvider.System);
        await fcm.StartAsync();
        await using var server = await StartAsync(fcm, digest: TimeSpan.Zero);
        string[] names = ["m1", "m2", "m3", "m4", "m5", "m6", "m7"];
        var g = await SuperGroupAsync(server, names);
        var target = new Target { ConversationId = g.ConversationId };

        // A plain member may not mention everyone.
        var member = await server.ConnectAsync(g["m1"], "web", Platform.Web);
        var refused = await Assert.ThrowsAsync<ParleyException>(() => member.SendAsync(target, new Content { Text = new TextContent { Text = "@all", MentionAll = true } }));
        Assert.Equal(ErrorCode.Forbidden, refused.Code);
        await member.DisposeAsync();

        // Seven members in chunks of two: four pages, every member exactly one push (m2's explicit mention is not repeated).
        var all = await g.Owner.SendAsync(target, new Content { Text = new TextContent { Text = "@all meeting at ten", MentionAll = true, MentionUserIds = { g["m2"] } } });
        var rows = await SettledAsync(server, all.ServerMsgId, expected: names.Length);
        Assert.Equal(names.Select(n => g[n]).Order(StringComparer.Ordinal), rows.Select(r => r.UserId).Order(StringComparer.Ordinal));
        Assert.All(rows, r => Assert.Equal("Accepted", r.State));
        await Wait.UntilAsync(() => rows.All(r => fcm.RequestsByPushId.ContainsKey(r.PushId)), "FCM got every @all push");
        Assert.All(rows, r => Assert.Equal(1, fcm.RequestsByPushId[r.PushId]));

        // A member who joins after the @all is not pushed for it (the fan-out reads who may see the message).
        var late = await server.CreateUserAsync("late");
        await g.Owner.InviteToGroupAsync(g.GroupId, [late]);
        await Task.Delay(300);
        Assert.DoesNotContain(await RowsAsync(server, all.ServerMsgId), r => r.UserId == late);
    }

    [Fact]
    public async Task MentionAll_ServerRestartedMidFanOut_ResumesAfterTheLastFinishedPage_EveryMemberPushedOnce()
    {
        await using var fcm = new FcmSimulator(TimeProvider.System);
        await fcm.StartAsync();
        var directory = Path.Combine(Path.GetTempPath(), "parley-sgjobs-" + Guid.NewGuid().ToString("N"));
        var settings = new Dictionary<string, string?>
        {
            ["Parley:Storage:DataDirectory"] = directory,
            ["Parley:Push:SuperGroupFanOutChunkSize"] = "1",
            ["Parley:Push:SuperGroupFanOutChunkInterval"] = "00:00:00.400",
        };
        string[] names = ["m1", "m2", "m3", "m4", "m5", "m6", "m7", "m8"];
        try
        {
            Group g;
            string messageId;
            await using (var first = await StartAsync(fcm, TimeSpan.Zero, settings))
            {
                g = await SuperGroupAsync(first, names);
                var all = await g.Owner.SendAsync(
                    new Target { ConversationId = g.ConversationId },
                    new Content { Text = new TextContent { Text = "@all fire drill", MentionAll = true } });
                messageId = all.ServerMsgId;
                await Wait.UntilAsync(() => RowsAsync(first, messageId).GetAwaiter().GetResult().Count >= 2, "the @all fan-out is under way");
            }

            // Stopped mid-fan-out: the job is still queued, given up by the stopped node, with the last member it finished.
            int journaled;
            (string After, string Owner) job;
            await using (var connection = new SqliteConnection($"Data Source={Path.Combine(directory, "parley.db")};Pooling=False"))
            {
                await connection.OpenAsync();
                using var count = connection.CreateCommand();
                count.CommandText = "SELECT COUNT(*) FROM push_journal WHERE message_id = $m;";
                count.Parameters.AddWithValue("$m", messageId);
                journaled = Convert.ToInt32(await count.ExecuteScalarAsync(), System.Globalization.CultureInfo.InvariantCulture);
                using var read = connection.CreateCommand();
                read.CommandText = "SELECT after_user, owner FROM super_push_jobs WHERE kind = 1;";
                using var reader = await read.ExecuteReaderAsync();
                Assert.True(await reader.ReadAsync(), $"the @all job should still be queued after the stop ({journaled} of {names.Length} pushed)");
                job = (reader.GetString(0), reader.GetString(1));
            }

            Assert.InRange(journaled, 2, names.Length - 1);
            Assert.NotEqual(string.Empty, job.After);
            Assert.Equal(string.Empty, job.Owner);

            // The restarted server takes the job over at once and finishes it: every member exactly one push.
            await using var second = await StartAsync(fcm, TimeSpan.Zero, settings);
            var rows = await SettledAsync(second, messageId, expected: names.Length);
            Assert.Equal(names.Select(n => g[n]).Order(StringComparer.Ordinal), rows.Select(r => r.UserId).Order(StringComparer.Ordinal));
            Assert.All(rows, r => Assert.Equal("Accepted", r.State));
            await Wait.UntilAsync(() => rows.All(r => fcm.RequestsByPushId.ContainsKey(r.PushId)), "FCM got every @all push");
            Assert.All(rows, r => Assert.Equal(1, fcm.RequestsByPushId[r.PushId]));
        }
        finally
        {
            SqliteConnection.ClearAllPools();
            try
            {
                Directory.Delete(directory, recursive: true);
            }
            catch (IOException)
            {
            }
        }
    }

    private static Task<TestServer> StartAsync(FcmSimulator fcm, TimeSpan digest, IDictionary<string, string?>? extra = null)
    {
        var settings = fcm.ServerSettings(
            ("Parley:Push:SuperGroupDigestInterval", digest.ToString("c")),
            ("Parley:Push:SuperGroupFanOutChunkSize", "2"),
            ("Parley:Push:SuperGroupFanOutChunkInterval", "00:00:00.050"));
        foreach (var (key, value) in extra ?? new Dictionary<string, string?>())
        {
            settings[key] = value;
        }

        return TestServer.StartAsync(settings);
    }

    /// <summary>A super group "Town hall" of an online owner and offline members with one FCM phone each; "erin" muted it.</summary>
    private static async Task<Group> SuperGroupAsync(TestServer server, params string[] names)
    {
        var ownerId = await server.CreateUserAsync("owner");
        var ids = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var name in names)
        {
            ids[name] = await server.CreateUserAsync(name);
        }

        var owner = await server.ConnectAsync(ownerId);
        var created = await owner.CreateGroupAsync(new CreateGroupRequest { Name = "Town hall", Kind = GroupKind.Super, MemberIds = { ids.Values } });
        foreach (var (name, id) in ids)
        {
            var phone = await server.ConnectAsync(id, "phone", Platform.Android);
            await phone.RegisterDeviceAsync(new RegisterDeviceRequest { Vendor = PushVendor.Fcm, Token = "fcm-" + id, AppId = "com.example.chat", NotificationsEnabled = true });
            if (name == "erin")
            {
                await phone.UpdateConversationAsync(created.ConversationId, muted: true);
            }

            await phone.DisposeAsync(); // offline from here on
        }

        return new Group(owner, ownerId, created.GroupId, created.ConversationId, ids);
    }

    private static async Task<List<PushRow>> SettledAsync(TestServer server, string messageId, int expected)
    {
        var rows = await PushesAsync(server, messageId, expected);
        Assert.Equal(expected, rows.Count);
        return rows;
    }

    private static async Task<List<PushRow>> RowsAsync(TestServer server, string messageId) =>
        await server.Admin.GetFromJsonAsync<List<PushRow>>($"/admin/v1/push/messages/{messageId}/pushes", Json) ?? [];

    private sealed record Group(ParleyClient Owner, string OwnerId, string GroupId, string ConversationId, Dictionary<string, string> Ids)
    {
        public string this[string name] => Ids[name];
    }
}
