using Parley.Abstractions.Messaging;

namespace Parley.Storage.Compliance;

/// <summary>A 1:1 conversation opened in the same commit as its first messages (issue 17, stop 43).</summary>
public abstract partial class MessageStoreComplianceTests
{
    /// <summary>
    /// The server opens a 1:1 conversation in the commit of its first message, and a group commit may carry more messages
    /// of it from both members. SQLite inserts such a conversation's rows with what those messages raise (its max seq and
    /// time, each sender's read seq, both members' feed version) instead of inserting and then raising them; every reader
    /// must see what the raises gave: the same as a conversation opened in one commit and written to in the next.
    /// </summary>
    [StoreFact]
    public async Task DirectConversation_OpenedWithItsFirstMessagesInOneCommit_ReadsAsIfOpenedFirstThenWritten()
    {
        var before = await Store.GetMaxVersionAsync();
        var opening = Direct("si_opa_opb", "opa", "opb");
        var m1 = Message(opening.ConversationId, 1, "opa", serverTime: 5001);
        var m2 = Message(opening.ConversationId, 2, "opa", serverTime: 5002);
        var m3 = Message(opening.ConversationId, 3, "opb", serverTime: 5003);
        var other = Direct("si_opc_opd", "opc", "opd");
        var m4 = Message(other.ConversationId, 1, "opc", serverTime: 5004);
        await CommitAsync(b =>
        {
            b.Conversations.AddRange([opening, other]);
            b.Messages.AddRange([m1, m2, m4, m3]);
        });

        // Opened in one commit and written to in the next: the reference the first must read like.
        var reference = Direct("si_ope_opf", "ope", "opf");
        await CommitAsync(b => b.Conversations.Add(reference));
        var r1 = Message(reference.ConversationId, 1, "ope", serverTime: 5001);
        var r2 = Message(reference.ConversationId, 2, "ope", serverTime: 5002);
        var r3 = Message(reference.ConversationId, 3, "opf", serverTime: 5003);
        await CommitAsync(b => b.Messages.AddRange([r1, r2, r3]));

        foreach (var (id, a, b, last) in new[] { (opening.ConversationId, "opa", "opb", m3), (reference.ConversationId, "ope", "opf", r3) })
        {
            Assert.Equal(3, (await Store.GetConversationAsync(id))!.MaxSeq);
            var members = (await Store.GetMembersAsync(id)).ToDictionary(m => m.UserId);
            Assert.Equal(2, members[a].ReadSeq);
            Assert.Equal(3, members[b].ReadSeq);
            Assert.Equal(last.Version, members[a].FeedVersion);
            Assert.Equal(last.Version, members[b].FeedVersion);

            // The sync of each member: the conversation at its last message, each side's read seq; nothing after its version.
            var change = Assert.Single((await Store.GetChangesAsync(a, before, 10)).Changes, c => c.Conversation.ConversationId == id);
            Assert.Equal(3, change.Conversation.MaxSeq);
            Assert.Equal(2, change.Conversation.ReadSeq);
            Assert.Equal(3, change.Conversation.PeerReadSeq);
            Assert.Equal(5003, change.Conversation.UpdatedAt);
            Assert.Equal([1L, 2L, 3L], change.Messages.Select(m => m.Seq));
            Assert.DoesNotContain((await Store.GetChangesAsync(b, last.Version, 10)).Changes, c => c.Conversation.ConversationId == id);
            Assert.Contains((await Store.GetChangesAsync(b, last.Version - 1, 10)).Changes, c => c.Conversation.ConversationId == id);

            var (page, _) = await Store.ListConversationsAsync(b, 0, 10);
            var listed = Assert.Single(page, v => v.ConversationId == id);
            Assert.Equal(3, listed.ReadSeq);
            Assert.Equal(5003, listed.UpdatedAt);
        }

        // The other conversation of the same commit got only its own message's raises.
        var others = (await Store.GetMembersAsync(other.ConversationId)).ToDictionary(m => m.UserId);
        Assert.Equal(1, others["opc"].ReadSeq);
        Assert.Equal(0, others["opd"].ReadSeq);
        Assert.Equal(m4.Version, others["opd"].FeedVersion);
        Assert.Equal(1, (await Store.GetConversationAsync(other.ConversationId))!.MaxSeq);

        // And the opened conversation goes on as any other: the next commit raises it.
        var m5 = Message(opening.ConversationId, 4, "opb", serverTime: 5010);
        await CommitAsync(b => b.Messages.Add(m5));
        Assert.Equal(4, (await Store.GetConversationAsync(opening.ConversationId))!.MaxSeq);
        var after = (await Store.GetMembersAsync(opening.ConversationId)).ToDictionary(m => m.UserId);
        Assert.Equal(2, after["opa"].ReadSeq);
        Assert.Equal(4, after["opb"].ReadSeq);
        Assert.Equal(m5.Version, after["opa"].FeedVersion);
    }
}
