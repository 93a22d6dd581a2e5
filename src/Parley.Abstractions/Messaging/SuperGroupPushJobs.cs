namespace Parley.Abstractions.Messaging;

/// <summary>What a super-group push job does. Values are stored; never renumber.</summary>
public enum SuperGroupPushJobKind
{
    /// <summary>A digest round of a group: "N new messages" to members with unread messages.</summary>
    Digest = 0,

    /// <summary>The @all pushes of one message, to every member who may see it.</summary>
    MentionAll = 1,
}

/// <summary>
/// A durable super-group push fan-out (ADR 0017, docs/push.md §8), worked a page of members at a time by whichever
/// node holds its lease; <see cref="After"/> is the last member done, so a job taken over after a crash or a restart
/// resumes after the last page it finished (a page pushed again is deduplicated by its push ids).
/// </summary>
/// <param name="Seq">Digest: the newest seq of the round. @all: the message's seq.</param>
/// <param name="Name">The group's name when the job was queued (the push title).</param>
public sealed record SuperGroupPushJob(long JobId, SuperGroupPushJobKind Kind, string ConversationId, long Seq, string Name, string After);

/// <summary>A digest round to queue: the group, its newest user message seen, its name.</summary>
public sealed record SuperGroupDigestMark(string ConversationId, long Seq, string Name);

/// <summary>The durable queue of super-group push jobs. Implemented by the message stores (same storage as the members).</summary>
public interface ISuperGroupPushJobStore
{
    /// <summary>Queues digest rounds: one job per group; a group already queued keeps its job with the larger seq.</summary>
    Task AddDigestsAsync(IReadOnlyList<SuperGroupDigestMark> marks, long now, CancellationToken cancellationToken = default);

    /// <summary>Queues the @all fan-out of the message <paramref name="seq"/> of a group.</summary>
    Task AddMentionAllAsync(string conversationId, long seq, string name, long now, CancellationToken cancellationToken = default);

    /// <summary>
    /// Takes up to <paramref name="limit"/> jobs of <paramref name="kind"/> whose lease ran out (or that were never taken)
    /// for <paramref name="owner"/> until <paramref name="leaseUntil"/>, oldest first; no two owners get the same job.
    /// </summary>
    Task<IReadOnlyList<SuperGroupPushJob>> ClaimAsync(SuperGroupPushJobKind kind, string owner, long now, long leaseUntil, int limit, CancellationToken cancellationToken = default);

    /// <summary>Records a finished page (its last member) and renews the lease; false when the job is no longer the owner's.</summary>
    Task<bool> AdvanceAsync(long jobId, string owner, string after, long leaseUntil, CancellationToken cancellationToken = default);

    /// <summary>
    /// Ends the owner's job: removed, unless it is a digest whose round was raised since it was taken (a newer seq):
    /// then it is released to start again from the first member.
    /// </summary>
    Task CompleteAsync(long jobId, string owner, long seq, CancellationToken cancellationToken = default);

    /// <summary>Gives the owner's jobs up at once (a shutdown), keeping their progress.</summary>
    Task ReleaseAsync(string owner, CancellationToken cancellationToken = default);
}
