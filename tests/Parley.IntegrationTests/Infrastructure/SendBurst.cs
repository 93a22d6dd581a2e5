using System.Collections.Concurrent;
using Parley.Protocol.V1;
using Parley.Sdk;

namespace Parley.IntegrationTests.Infrastructure;

/// <summary>The send burst of the process-level durability tests (kill -9, SIGTERM) and the history read that checks it.</summary>
internal static class SendBurst
{
    /// <summary>
    /// Starts <paramref name="perSender"/> sends per client, 8 in flight each, alternating the group and a 1:1 with
    /// <paramref name="receiver"/>, ids <c>{prefix}-s{client}-{k}</c>. Every receipt goes into <paramref name="acked"/>
    /// (an id acked twice fails); <paramref name="reached"/> completes at <paramref name="threshold"/> acks.
    /// </summary>
    public static List<Task> Start(IReadOnlyList<ParleyClient> clients, int perSender, string prefix, string groupConversationId, string receiver,
        ConcurrentDictionary<string, SendReceipt> acked, int threshold, TaskCompletionSource reached) =>
        clients.Select((client, i) => Task.Run(async () =>
        {
            using var gate = new SemaphoreSlim(8);
            var tasks = new List<Task>();
            for (var k = 0; k < perSender; k++)
            {
                await gate.WaitAsync();
                var id = $"{prefix}-s{i}-{k}";
                var toGroup = k % 2 == 0;
                tasks.Add(Task.Run(async () =>
                {
                    try
                    {
                        var receipt = toGroup
                            ? await client.SendTextToConversationAsync(groupConversationId, id, id)
                            : await client.SendTextAsync(receiver, id, id);
                        Assert.True(acked.TryAdd(id, receipt), $"{id} was acked twice");
                        if (acked.Count >= threshold)
                        {
                            reached.TrySetResult();
                        }
                    }
                    finally
                    {
                        gate.Release();
                    }
                }));
            }

            await Task.WhenAll(tasks);
        })).ToList();

    /// <summary>
    /// Every message of a conversation, oldest first. A transient refusal (a cluster node just died and the conversation's
    /// grain is moving) is retried, as an application would, for up to 30 s.
    /// </summary>
    public static async Task<List<Message>> ReadAllAsync(ParleyClient client, string conversationId)
    {
        var all = new List<Message>();
        ulong from = 1;
        var retryUntil = DateTime.UtcNow.AddSeconds(30);
        while (true)
        {
            HistoryResult page;
            try
            {
                page = await client.GetHistoryAsync(conversationId, from, Direction.Forward, 200);
            }
            catch (ParleyException ex) when (ex.IsTransient && DateTime.UtcNow < retryUntil)
            {
                await Task.Delay(ex.RetryAfter ?? TimeSpan.FromMilliseconds(500));
                continue;
            }

            all.AddRange(page.Messages);
            if (!page.HasMore || page.Messages.Count == 0)
            {
                return all;
            }

            from = page.Messages[^1].Seq + 1;
        }
    }
}
