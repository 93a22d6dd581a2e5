using Microsoft.Data.Sqlite;
using Parley.IntegrationTests.Infrastructure;
using Parley.Protocol.V1;
using Parley.Sdk;

namespace Parley.IntegrationTests;

/// <summary>
/// ADR 0028 on the real server: with the derived rows flushed every 10 s, every message of the burst is pending when the
/// process is killed (-9). After the restart the conversation list's max seq, read seq and unread count are what every
/// commit writing them gives (one per message, the sender's own messages read), a device that synced before the kill gets
/// every later message by its cursor, a retried client message id is a duplicate, the grain allocates the seq after the
/// last message, and a list right after a send sees it.
/// </summary>
public sealed class DerivedRowsCrashTests
{
    private const int Burst = 12;

    [Fact]
    public async Task KillMinus9_WithEveryMessagePending_RestartDerivesTheRows_ASyncedDeviceGetsEverything_AndARetryIsADuplicate()
    {
        var dataDirectory = Path.Combine(Path.GetTempPath(), "parley-derived-" + Guid.NewGuid().ToString("N"));
        await using var server = new ServerProcess(dataDirectory);
        server.Configure([new("Parley:Storage:Sqlite:DerivedRowsFlushMs", "10000")]);
        var clients = new List<ParleyClient>();
        try
        {
            await server.StartAsync();
            var alice = await server.CreateUserAsync("alice");
            var bob = await server.CreateUserAsync("bob");
            var sender = await server.ConnectAsync(alice, clients);
            var opened = await sender.SendTextAsync(bob, "first", clientMsgId: "m0");

            // bob's device syncs, then goes offline: its cursor is from before the burst.
            var bobState = new InMemoryParleyClientState();
            var bobToken = (await server.IssueTokenAsync(bob, "phone", Platform.Android)).Token;
            var device = new Recorder(NewClient(server, bobToken, bobState));
            await device.Client.ConnectAsync();
            await device.WaitForMessagesAsync(opened.ConversationId, 1);
            await device.Client.DisposeAsync();

            var receipts = new List<SendReceipt>();
            for (var i = 1; i <= Burst; i++)
            {
                receipts.Add(await sender.SendTextAsync(bob, "burst " + i, clientMsgId: "m" + i));
            }

            Assert.Equal(Enumerable.Range(2, Burst).Select(i => (ulong)i), receipts.Select(r => r.Seq));
            await server.KillAsync();
            foreach (var c in clients)
            {
                await c.DisposeAsync();
            }

            clients.Clear();

            // Pending for real at the kill: the file's list holds the conversation and its row is behind the messages.
            await using (var file = new SqliteConnection($"Data Source={Path.Combine(server.DataDirectory, "parley.db")};Pooling=false"))
            {
                await file.OpenAsync();
                await using var command = file.CreateCommand();
                command.CommandText = "SELECT pending IS NOT NULL, (SELECT max_seq FROM conversations WHERE conversation_id = $conv) FROM feed_state;";
                command.Parameters.AddWithValue("$conv", opened.ConversationId);
                await using var reader = await command.ExecuteReaderAsync();
                Assert.True(await reader.ReadAsync());
                Assert.True(reader.GetBoolean(0), "the burst's conversation should be pending at the kill");
                Assert.True(reader.GetInt64(1) < Burst + 1, $"max_seq {reader.GetInt64(1)} should wait for the flush");
            }

            SqliteConnection.ClearAllPools();

            await server.StartAsync();
            sender = await server.ConnectAsync(alice, clients);

            // A retried id is a duplicate: the same seq, nothing new stored.
            var retried = await sender.SendTextAsync(bob, "burst 7", clientMsgId: "m7");
            Assert.Equal(receipts[6].Seq, retried.Seq);

            // The next message takes the seq after the last one (the grain activated with every message pending at the kill).
            var next = await sender.SendTextAsync(bob, "after", clientMsgId: "after");
            Assert.Equal((ulong)(Burst + 2), next.Seq);

            // Right after alice's own send: her list shows it read, bob's shows it unread.
            var aliceView = (await sender.GetConversationsAsync()).Conversations.Single(c => c.ConversationId == opened.ConversationId);
            Assert.Equal((ulong)(Burst + 2), aliceView.MaxSeq);
            Assert.Equal((ulong)(Burst + 2), aliceView.ReadSeq);
            Assert.Equal(0UL, aliceView.Unread);

            var back = new Recorder(NewClient(server, bobToken, bobState));
            clients.Add(back.Client);
            await back.Client.ConnectAsync();
            await back.WaitForMessagesAsync(opened.ConversationId, Burst + 1);
            Assert.Equal(Enumerable.Range(2, Burst + 1).Select(i => (ulong)i), back.MessagesIn(opened.ConversationId).Select(m => m.Seq));
            var bobView = (await back.Client.GetConversationsAsync()).Conversations.Single(c => c.ConversationId == opened.ConversationId);
            Assert.Equal((ulong)(Burst + 2), bobView.MaxSeq);
            Assert.Equal((ulong)(Burst + 2), bobView.Unread);
            Assert.Equal((ulong)(Burst + 2), bobView.PeerReadSeq);
        }
        finally
        {
            await server.KillAndDeleteDataAsync(clients);
        }
    }

    private static ParleyClient NewClient(ServerProcess server, string token, IParleyClientState state) => new(new ParleyClientOptions
    {
        ServerUri = server.WebSocketUri,
        Token = token,
        DeviceId = "phone",
        Platform = Platform.Android,
        LocalState = state,
        SendTimeout = TimeSpan.FromSeconds(120),
        RequestTimeout = TimeSpan.FromSeconds(120),
        ReconnectInitialDelay = TimeSpan.FromMilliseconds(100),
        ReconnectMaxDelay = TimeSpan.FromSeconds(1),
    });
}
