using System.Collections.Concurrent;
using Parley.Abstractions.Messaging;

namespace Parley.Core.Tests;

/// <summary>
/// An <see cref="IMessageStore"/> for the commit pipeline alone: it records what each commit wrote, can hold the next
/// commit until released, and fails every batch that contains a chosen message (as a full disk or a constraint would).
/// Reads are not part of the pipeline and throw.
/// </summary>
internal sealed class FaultingMessageStore : IMessageStore
{
    private readonly Lock _lock = new();
    private readonly List<StoredMessage> _committed = [];
    private TaskCompletionSource? _hold;

    /// <summary>A batch holding a message this predicate accepts fails, and writes nothing.</summary>
    public Func<StoredMessage, bool> FailsOn { get; set; } = _ => false;

    public int CommitCalls { get; private set; }

    public ConcurrentQueue<TaskCompletionSource> Entered { get; } = new();

    /// <summary>The messages durably written, in commit order.</summary>
    public IReadOnlyList<StoredMessage> Committed
    {
        get
        {
            lock (_lock)
            {
                return [.. _committed];
            }
        }
    }

    /// <summary>Makes the next commit wait until the returned source is completed; <paramref name="entered"/> completes when it started.</summary>
    public TaskCompletionSource HoldNextCommit(out Task entered)
    {
        var hold = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        Entered.Enqueue(started);
        _hold = hold;
        entered = started.Task;
        return hold;
    }

    public async Task CommitAsync(CommitBatch batch, CancellationToken cancellationToken = default)
    {
        CommitCalls++;
        if (Interlocked.Exchange(ref _hold, null) is { } hold)
        {
            if (Entered.TryDequeue(out var started))
            {
                started.TrySetResult();
            }

            await hold.Task.ConfigureAwait(false);
        }

        if (batch.Messages.Exists(m => FailsOn(m)))
        {
            throw new IOException("Simulated storage failure.");
        }

        lock (_lock)
        {
            _committed.AddRange(batch.Messages);
        }
    }

    public Task<long> GetMaxVersionAsync(CancellationToken cancellationToken = default) => Task.FromResult(0L);

    public Task InitializeAsync(CancellationToken cancellationToken = default) => Task.CompletedTask;

    public Task<ConversationRecord?> GetConversationAsync(string conversationId, CancellationToken cancellationToken = default) => throw new NotSupportedException();

    public Task<IReadOnlyList<MemberRecord>> GetMembersAsync(string conversationId, CancellationToken cancellationToken = default) => throw new NotSupportedException();

    public Task<StoredMessage?> GetMessageAsync(string conversationId, long seq, CancellationToken cancellationToken = default) => throw new NotSupportedException();

    public Task<StoredMessage?> FindByClientMsgIdAsync(string conversationId, string senderId, string clientMsgId, CancellationToken cancellationToken = default) => throw new NotSupportedException();

    public Task<IReadOnlyList<StoredMessage>> ReadMessagesAsync(string conversationId, long fromSeq, ReadDirection direction, int limit, CancellationToken cancellationToken = default) => throw new NotSupportedException();

    public Task<SyncSnapshot> GetChangesAsync(string userId, long sinceVersion, int maxMessagesPerConversation, CancellationToken cancellationToken = default) => throw new NotSupportedException();

    public Task<IReadOnlyList<StoredMessage>> ReadThreadAsync(string conversationId, long rootSeq, long afterSeq, int limit, CancellationToken cancellationToken = default) => throw new NotSupportedException();

    public Task<IReadOnlyList<MessageRevision>> GetRevisionsAsync(string conversationId, long seq, CancellationToken cancellationToken = default) => throw new NotSupportedException();

    public Task<SearchMatchCollection> SearchAsync(string userId, string? conversationId, string query, SearchPosition? after, int limit, int maxScanned = int.MaxValue, CancellationToken cancellationToken = default) => throw new NotSupportedException();

    public Task<(IReadOnlyList<ConversationView> Page, int Total)> ListConversationsAsync(string userId, int offset, int limit, CancellationToken cancellationToken = default) => throw new NotSupportedException();

    public Task<long> GetUnreadTotalAsync(string userId, CancellationToken cancellationToken = default) => throw new NotSupportedException();

    public Task<ConversationView?> GetConversationViewAsync(string userId, string conversationId, CancellationToken cancellationToken = default) => throw new NotSupportedException();
}
