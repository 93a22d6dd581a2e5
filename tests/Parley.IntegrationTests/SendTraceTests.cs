using System.Globalization;
using Parley.IntegrationTests.Infrastructure;

namespace Parley.IntegrationTests;

/// <summary>
/// The send trace (issue 17, stop 44; <c>Parley:Gateway:SendTraceFile</c>, a diagnostics switch): real sends through the
/// real server and SDK are written to the file when the server stops, each under its client message id with every hop
/// stamped in path order and the version its commit gave it, and the recipient's live frame of that version with its queue
/// and socket-write times after the commit; the thread pool's samples are there too.
/// </summary>
public sealed class SendTraceTests
{
    [Fact]
    public async Task Sends_AreWrittenWithEveryHopInOrder_AndTheirLiveFrames_WhenTheServerStops()
    {
        const int sends = 12;
        var path = Path.Combine(Path.GetTempPath(), $"parley-sendtrace-{Guid.NewGuid():N}.txt");
        try
        {
            await using (var server = await TestServer.StartAsync(new Dictionary<string, string?> { ["Parley:Gateway:SendTraceFile"] = path }))
            {
                var alice = await server.CreateUserAsync("alice");
                var bob = await server.CreateUserAsync("bob");
                var sender = await server.ConnectAsync(alice);
                var recipient = new Recorder(await server.CreateClientAsync(bob, "b1"));
                await recipient.Client.ConnectAsync();
                string? conversation = null;
                for (var i = 0; i < sends; i++)
                {
                    conversation = (await sender.SendTextAsync(bob, $"trace {i}", clientMsgId: $"trace-{i}")).ConversationId;
                }

                await recipient.WaitForMessagesAsync(conversation!, sends);
                Assert.False(File.Exists(path)); // written when the server stops, not before
            }

            var lines = await File.ReadAllLinesAsync(path);
            var sent = lines.Where(l => l.StartsWith("s ", StringComparison.Ordinal)).Select(l => l.Split(' ')).ToDictionary(a => a[1]);
            var frames = lines.Where(l => l.StartsWith("d ", StringComparison.Ordinal)).Select(l => l.Split(' ')).ToLookup(a => long.Parse(a[1], CultureInfo.InvariantCulture));
            Assert.Contains(lines, l => l.StartsWith("p ", StringComparison.Ordinal));
            for (var i = 0; i < sends; i++)
            {
                Assert.True(sent.TryGetValue($"trace-{i}", out var s), $"send trace-{i} not in the trace");
                var stamps = s.Skip(3).Select(x => long.Parse(x, CultureInfo.InvariantCulture)).ToArray();
                Assert.Equal(10, stamps.Length); // read, handled, turn, submitted, taken, durable, fanned out, resumed, returned, ack written
                Assert.All(stamps, t => Assert.True(t > 0));
                for (var h = 1; h < stamps.Length; h++)
                {
                    Assert.True(stamps[h] >= stamps[h - 1], $"trace-{i}: stamp {h} before stamp {h - 1}");
                }

                var version = long.Parse(s[2], CultureInfo.InvariantCulture);
                Assert.True(version > 0);
                var frame = Assert.Single(frames[version]); // the recipient's one connection (the sender's own is the origin)
                var queued = long.Parse(frame[2], CultureInfo.InvariantCulture);
                var written = long.Parse(frame[3], CultureInfo.InvariantCulture);
                Assert.True(queued >= stamps[5] && queued <= stamps[6], $"trace-{i}: its live frame was queued outside its fan-out");
                Assert.True(written >= queued);
            }
        }
        finally
        {
            File.Delete(path);
        }
    }
}
