using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;
using Parley.Abstractions.Messaging;
using Parley.Core.Messaging;
using Parley.Protocol.V1;
using Parley.Sdk;
using Xunit.Abstractions;

namespace Parley.IntegrationTests;

/// <summary>
/// ADR 0033 on the real server: a shed 1:1 conversation's next activation starts from what its last activation left in the
/// node's cache instead of the store. Each step below waits for the grain to be shed (the 1:1 idle age is 1 s here) and for
/// its entry, then acts on a new activation: the seq continues, a retried send is still a duplicate, a read cursor, a
/// revoke and a block made across sheddings hold, and what the store holds afterwards is what the acks said. A commit that
/// fails (here on a seq another writer took behind the server's back) leaves no entry, and the next activation reads the store.
/// </summary>
public sealed class ShedDirectConversationTests(ITestOutputHelper output)
{
    private static Dictionary<string, string?> Settings(string? data = null)
    {
        var settings = new Dictionary<string, string?>
        {
            ["Parley:Orleans:IdleAge"] = "00:20:00",
            ["Parley:Orleans:DirectIdleAge"] = "00:00:01",
        };
        if (data is not null)
        {
            settings["Parley:Storage:DataDirectory"] = data;
        }

        return settings;
    }

    [Fact]
    public async Task AShedConversation_ReactivatesFromTheCache_AndItsSeqsDedupReadCursorsAndRevokesHold()
    {
        await using var server = await TestServer.StartAsync(Settings());
        var shed = server.Services.GetRequiredService<ShedDirectConversations>();
        Assert.True(shed.Enabled);
        var aliceId = await server.CreateUserAsync("sa");
        var bobId = await server.CreateUserAsync("sb");
        var alice = await server.ConnectAsync(aliceId);
        var bob = await server.ConnectAsync(bobId);

        var first = await alice.SendTextAsync(bobId, "m1", clientMsgId: "shed-1");
        await alice.SendTextAsync(bobId, "m2", clientMsgId: "shed-2");
        await alice.SendTextAsync(bobId, "m3", clientMsgId: "shed-3");
        var conversation = first.ConversationId;
        var hits = shed.Hits;

        // A send to a shed conversation: the next seq, from the entry.
        await ShedAsync(shed, conversation);
        var fourth = await alice.SendTextAsync(bobId, "m4", clientMsgId: "shed-4");
        Assert.Equal((4UL, false), (fourth.Seq, fourth.Duplicate));
        Assert.Equal(hits + 1, shed.Hits);

        // A retried send: the original ack, from the entry's newest messages.
        await ShedAsync(shed, conversation);
        var retried = await alice.SendTextAsync(bobId, "m2 again", clientMsgId: "shed-2");
        Assert.Equal((2UL, true), (retried.Seq, retried.Duplicate));

        // A read cursor moved by one activation is the next one's.
        await ShedAsync(shed, conversation);
        Assert.Equal(4UL, (await bob.MarkReadAsync(conversation, 4)).ReadSeq);
        await ShedAsync(shed, conversation);
        var again = await bob.MarkReadAsync(conversation, 2);
        Assert.Equal((4UL, 0UL), (again.ReadSeq, again.Unread));

        // A revoke, then a send from the other side, each on a new activation.
        await ShedAsync(shed, conversation);
        var revoke = await alice.RevokeAsync(conversation, 3, clientMsgId: "shed-revoke");
        Assert.Equal(5UL, revoke!.Seq);
        await ShedAsync(shed, conversation);
        var sixth = await bob.SendTextAsync(aliceId, "m6", clientMsgId: "shed-6");
        Assert.Equal((6UL, false), (sixth.Seq, sixth.Duplicate));
        await ShedAsync(shed, conversation);
        var history = await bob.GetHistoryAsync(conversation);
        Assert.Equal(6UL, history.MaxSeq);
        Assert.Equal([1UL, 2UL, 3UL, 4UL, 5UL, 6UL], history.Messages.Select(m => m.Seq));
        Assert.True(history.Messages.Single(m => m.Seq == 3).Revoked);
        Assert.Equal(["m1", "m2", "m4", "m6"], history.Messages.Where(m => m.Content?.Text is not null).Select(m => m.Content.Text.Text));
        Assert.True(shed.Hits - hits >= 7, $"{shed.Hits - hits} activations from the cache of 7");
        output.WriteLine($"hits {shed.Hits - hits}, misses {shed.Misses}, puts {shed.Puts}, refused {shed.Refused}, {shed.Bytes} B held");

        // The store holds what the acks said: six messages, the revoked one a tombstone, the cursors as moved.
        var store = server.Services.GetRequiredService<IMessageStore>();
        Assert.Equal(6, (await store.GetConversationAsync(conversation))!.MaxSeq);
        var members = await store.GetMembersAsync(conversation);
        Assert.Equal(6, members.Single(m => m.UserId == bobId).ReadSeq); // its own send
        Assert.Equal(5, members.Single(m => m.UserId == aliceId).ReadSeq); // its own revoke
        Assert.Equal(6, (await store.ReadMessagesAsync(conversation, 1, ReadDirection.Forward, 10)).Count);
    }

    [Fact]
    public async Task ABlockWhileShed_DropsTheEntry_AndHoldsAcrossLaterSheddings_AndAnUnblockToo()
    {
        await using var server = await TestServer.StartAsync(Settings());
        var shed = server.Services.GetRequiredService<ShedDirectConversations>();
        var aliceId = await server.CreateUserAsync("ra");
        var bobId = await server.CreateUserAsync("rb");
        var alice = await server.ConnectAsync(aliceId);
        var bob = await server.ConnectAsync(bobId);
        var conversation = (await alice.SendTextAsync(bobId, "before")).ConversationId;

        await ShedAsync(shed, conversation);
        await bob.SetBlockedAsync(aliceId, true); // drops the entry before its write; its call to the grain activates it anew
        Assert.Equal(ErrorCode.Blocked, (await Assert.ThrowsAsync<ParleyException>(() => alice.SendTextAsync(bobId, "blocked"))).Code);

        // Left again with the block, and served with it.
        await ShedAsync(shed, conversation);
        var hits = shed.Hits;
        Assert.Equal(ErrorCode.Blocked, (await Assert.ThrowsAsync<ParleyException>(() => alice.SendTextAsync(bobId, "still blocked"))).Code);
        Assert.Equal(hits + 1, shed.Hits);

        await ShedAsync(shed, conversation);
        await bob.SetBlockedAsync(aliceId, false);
        await ShedAsync(shed, conversation);
        var after = await alice.SendTextAsync(bobId, "after");
        Assert.Equal(2UL, after.Seq);
    }

    [Fact]
    public async Task ACommitThatFails_LeavesNoEntry_AndTheNextActivationReadsTheStore()
    {
        var data = Path.Combine(Path.GetTempPath(), "parley-test-shed-" + Guid.NewGuid().ToString("N"));
        try
        {
            await using var server = await TestServer.StartAsync(Settings(data));
            var shed = server.Services.GetRequiredService<ShedDirectConversations>();
            var aliceId = await server.CreateUserAsync("fa");
            var bobId = await server.CreateUserAsync("fb");
            var alice = await server.ConnectAsync(aliceId);
            var conversation = (await alice.SendTextAsync(bobId, "stored")).ConversationId;
            await ShedAsync(shed, conversation);

            // Behind the server's back (a second writer, as a second activation would be): seq 2 is taken in the store, so the
            // entry's next seq is stale. The database refuses the grain's seq 2 (the unique (conversation, seq)); the commit
            // fails, that activation leaves no entry, and the SDK's retry of the same send reaches one that reads the store.
            await using (var writer = new SqliteConnection($"Data Source={Path.Combine(data, "parley.db")};Pooling=false"))
            {
                await writer.OpenAsync();
                await using var inject = writer.CreateCommand();
                inject.CommandText = """
                    INSERT INTO messages (conv_key, seq, server_msg_id, sender_id, client_msg_id, server_time, content_kind, content, revoked, version, annotations, reply_to_seq, search_id)
                    SELECT conv_key, 2, 'injected-2', $bob, 'injected-2', 1, 0, x'', 0, 0, NULL, 0, NULL FROM conversations WHERE conversation_id = $conv;
                    UPDATE conversations SET max_seq = 2, last_seq = 2 WHERE conversation_id = $conv;
                    """;
                inject.Parameters.AddWithValue("$bob", bobId);
                inject.Parameters.AddWithValue("$conv", conversation);
                await inject.ExecuteNonQueryAsync();
            }

            var (hits, misses, refused) = (shed.Hits, shed.Misses, shed.Refused);
            var sent = await alice.SendTextAsync(bobId, "after the conflict", clientMsgId: "shed-conflict");
            output.WriteLine($"hits +{shed.Hits - hits}, misses +{shed.Misses - misses}, refused +{shed.Refused - refused}");
            Assert.Equal(hits + 1, shed.Hits); // the stale entry was served once, and its commit failed
            Assert.True(shed.Refused > refused, "the failed activation left an entry");
            Assert.True(shed.Misses > misses, "no activation read the store after the failure");
            Assert.Equal((3UL, false), (sent.Seq, sent.Duplicate));
            var history = await alice.GetHistoryAsync(conversation);
            Assert.Equal([1UL, 2UL, 3UL], history.Messages.Select(m => m.Seq));
            Assert.Equal("injected-2", history.Messages[1].ClientMsgId);
            Assert.Equal("after the conflict", history.Messages[2].Content.Text.Text);
        }
        finally
        {
            SqliteConnection.ClearAllPools();
            try
            {
                Directory.Delete(data, recursive: true);
            }
            catch (IOException)
            {
            }
        }
    }

    private static Task ShedAsync(ShedDirectConversations shed, string conversationId) =>
        Wait.UntilAsync(() => shed.Holds(conversationId), $"conversation {conversationId} shed with its entry", TimeSpan.FromSeconds(20));
}
