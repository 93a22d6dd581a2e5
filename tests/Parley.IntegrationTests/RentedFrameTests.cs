using System.Collections.Concurrent;
using Microsoft.Extensions.DependencyInjection;
using Parley.Gateway.Connections;
using Parley.Sdk;
using Parley.Testing;

namespace Parley.IntegrationTests;

/// <summary>
/// A 1:1 message's live frame for its only recipient connection is rented from <c>FramePool.Live</c> and returned by that
/// connection's send loop after the write (issue 17, stop 44). A buffer returned too early is rented again by another
/// delivery and overwritten before or while it is written: here many senders' messages of many sizes (so the pool's
/// buckets are shared by different frames) cross at once, and every received message must be exactly the one sent. (With
/// the buffer returned right after it was queued, this test failed: 535 messages received for 480 sent.)
/// </summary>
public sealed class RentedFrameTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    private TestServer Server => fixture.Server;

    [Fact]
    public async Task DirectMessages_ManySendersAtOnce_EveryReceivedContentIsTheOneSent_FramesWereRented()
    {
        const int users = 8;
        const int perPeer = 30;
        var registry = Server.Services.GetRequiredService<ConnectionRegistry>();
        var ids = new string[users];
        for (var i = 0; i < users; i++)
        {
            ids[i] = await Server.CreateUserAsync("rf");
        }

        var clients = new ParleyClient[users];
        var received = new ConcurrentDictionary<(string Receiver, string Sender, string ClientMsgId), string>();
        var duplicates = 0;
        for (var i = 0; i < users; i++)
        {
            var me = ids[i];
            clients[i] = await Server.ConnectAsync(me);
            clients[i].MessageReceived += (_, e) =>
            {
                if (!received.TryAdd((me, e.Message.SenderId, e.Message.ClientMsgId), e.Message.Content.Text.Text))
                {
                    Interlocked.Increment(ref duplicates);
                }
            };
        }

        try
        {
            var rentedBefore = registry.RentedDeliveries;

            // Each user sends to the next two users, all at once; sizes from a few bytes to ~2 KB, so frames of different
            // messages land in the same pool buckets (and in different ones) while others are still queued or being written.
            var expected = new ConcurrentDictionary<(string Receiver, string Sender, string ClientMsgId), string>();
            var sends = new List<Task>();
            for (var s = 0; s < users; s++)
            {
                var sender = s;
                sends.Add(Task.Run(async () =>
                {
                    for (var i = 0; i < perPeer; i++)
                    {
                        for (var step = 1; step <= 2; step++)
                        {
                            var peer = ids[(sender + step) % users];
                            var clientMsgId = $"rf-{sender}-{step}-{i}";
                            var text = Text(ids[sender], peer, i, ((sender * 131) + (i * 197) + (step * 61)) % 2000);
                            expected[(peer, ids[sender], clientMsgId)] = text;
                            await clients[sender].SendTextAsync(peer, text, clientMsgId);
                        }
                    }
                }));
            }

            await Task.WhenAll(sends);
            await Wait.UntilAsync(() => received.Count >= expected.Count, $"every receiver got its {users * perPeer * 2} messages", TimeSpan.FromSeconds(30));

            Assert.Equal(0, Volatile.Read(ref duplicates));
            Assert.Equal(expected.Count, received.Count);
            foreach (var (key, text) in expected)
            {
                Assert.True(received.TryGetValue(key, out var got), $"{key} was not received");
                Assert.Equal(text, got);
            }

            // The path under test was taken: each of these messages had one recipient connection (the sender's own is excluded).
            Assert.True(registry.RentedDeliveries - rentedBefore >= expected.Count, $"only {registry.RentedDeliveries - rentedBefore} of {expected.Count} deliveries were rented frames");
        }
        finally
        {
            foreach (var client in clients)
            {
                await client.DisposeAsync();
            }
        }
    }

    // A text that names its message and has a body of `pad` characters derived from it, so a frame of another message (or
    // bytes of two) cannot be mistaken for it.
    private static string Text(string sender, string peer, int i, int pad)
    {
        var head = $"{sender}>{peer}#{i}:";
        return head + string.Create(pad, (sender.Length + i) % 26, static (span, seed) =>
        {
            for (var k = 0; k < span.Length; k++)
            {
                span[k] = (char)('a' + ((seed + k) % 26));
            }
        });
    }
}
