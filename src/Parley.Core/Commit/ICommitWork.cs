using Parley.Abstractions.Messaging;

namespace Parley.Core.Commit;

/// <summary>
/// One unit of work for the group commit pipeline: what it writes and what happens once it is durable.
/// </summary>
public interface ICommitWork
{
    /// <summary>The conversation whose single writer submitted this work.</summary>
    string ConversationId { get; }

    /// <summary>
    /// Identifies the submitting grain activation. After a failed commit the pipeline refuses further work of the
    /// same conversation and epoch, so a later seq can never be committed after an earlier one was lost (no gaps).
    /// </summary>
    Guid Epoch { get; }

    /// <summary>Adds this work's records to the batch. Called by the writer in version order.</summary>
    void AddTo(CommitBatch batch, long version);

    /// <summary>Called once the work is durable, on the pipeline's dispatch loop, in version order. Must not block.</summary>
    void OnCommitted(long version);

    /// <summary>
    /// Called by the writer once the work's batch is durable, before <see cref="OnCommitted"/>, with when the writer took the
    /// batch and when it was durable (<see cref="System.Diagnostics.Stopwatch"/> timestamps): a send's per-hop times
    /// (issue 17). Not called for work committed item by item after a failed batch. Must only store them.
    /// </summary>
    void Timed(long takenAt, long durableAt)
    {
    }
}

/// <summary>The pipeline refused or could not commit a work item; the caller may retry on a fresh activation.</summary>
public sealed class CommitFailedException : Exception
{
    public CommitFailedException()
    {
    }

    public CommitFailedException(string message)
        : base(message)
    {
    }

    public CommitFailedException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
