using Parley.Abstractions.Messaging;
using static Parley.Storage.Postgres.Internal.PostgresRows;

namespace Parley.Storage.Postgres;

/// <summary>Durable super-group push jobs (ADR 0017, migration 20): any node claims a job whose lease ran out.</summary>
public sealed partial class PostgresMessageStore : ISuperGroupPushJobStore
{
    private const string JobColumns = "job_id, kind, conversation_id, seq, name, after_user";

    /// <inheritdoc />
    public async Task AddDigestsAsync(IReadOnlyList<SuperGroupDigestMark> marks, long now, CancellationToken cancellationToken = default)
    {
        if (marks.Count == 0)
        {
            return;
        }

        await _database.ExecuteAsync(
            """
            INSERT INTO super_push_jobs (kind, conversation_id, seq, name, created_at)
            SELECT 0, m.conversation_id, m.seq, m.name, $4 FROM unnest($1::text[], $2::bigint[], $3::text[]) AS m(conversation_id, seq, name)
            ON CONFLICT (conversation_id) WHERE kind = 0
            DO UPDATE SET seq = GREATEST(super_push_jobs.seq, excluded.seq), name = excluded.name;
            """,
            cancellationToken,
            P(marks.Select(m => m.ConversationId).ToArray()),
            P(marks.Select(m => m.Seq).ToArray()),
            P(marks.Select(m => m.Name).ToArray()),
            P(now)).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async Task AddMentionAllAsync(string conversationId, long seq, string name, long now, CancellationToken cancellationToken = default) =>
        await _database.ExecuteAsync(
            "INSERT INTO super_push_jobs (kind, conversation_id, seq, name, created_at) VALUES (1, $1, $2, $3, $4);",
            cancellationToken,
            P(conversationId),
            P(seq),
            P(name),
            P(now)).ConfigureAwait(false);

    /// <inheritdoc />
    public async Task<IReadOnlyList<SuperGroupPushJob>> ClaimAsync(SuperGroupPushJobKind kind, string owner, long now, long leaseUntil, int limit, CancellationToken cancellationToken = default)
    {
        var jobs = await _database.QueryAsync(
            $"""
            UPDATE super_push_jobs SET owner = $1, lease_until = $2
            WHERE job_id IN (SELECT job_id FROM super_push_jobs WHERE kind = $3 AND lease_until < $4 ORDER BY job_id LIMIT $5 FOR UPDATE SKIP LOCKED)
            RETURNING {JobColumns};
            """,
            r => new SuperGroupPushJob(r.GetInt64(0), (SuperGroupPushJobKind)r.GetInt32(1), r.GetString(2), r.GetInt64(3), r.GetString(4), r.GetString(5)),
            cancellationToken,
            P(owner),
            P(leaseUntil),
            P((int)kind),
            P(now),
            P(Math.Max(1, limit))).ConfigureAwait(false);
        return [.. jobs.OrderBy(j => j.JobId)];
    }

    /// <inheritdoc />
    public async Task<bool> AdvanceAsync(long jobId, string owner, string after, long leaseUntil, CancellationToken cancellationToken = default) =>
        await _database.ExecuteAsync(
            "UPDATE super_push_jobs SET after_user = $1, lease_until = $2 WHERE job_id = $3 AND owner = $4;",
            cancellationToken,
            P(after),
            P(leaseUntil),
            P(jobId),
            P(owner)).ConfigureAwait(false) == 1;

    /// <inheritdoc />
    public async Task CompleteAsync(long jobId, string owner, long seq, CancellationToken cancellationToken = default)
    {
        if (await _database.ExecuteAsync("DELETE FROM super_push_jobs WHERE job_id = $1 AND owner = $2 AND seq = $3;", cancellationToken, P(jobId), P(owner), P(seq)).ConfigureAwait(false) == 0)
        {
            // A digest raised to a newer round while it ran: it starts again from the first member.
            await _database.ExecuteAsync(
                "UPDATE super_push_jobs SET after_user = '', owner = '', lease_until = 0 WHERE job_id = $1 AND owner = $2;",
                cancellationToken,
                P(jobId),
                P(owner)).ConfigureAwait(false);
        }
    }

    /// <inheritdoc />
    public async Task ReleaseAsync(string owner, CancellationToken cancellationToken = default) =>
        await _database.ExecuteAsync("UPDATE super_push_jobs SET owner = '', lease_until = 0 WHERE owner = $1;", cancellationToken, P(owner)).ConfigureAwait(false);
}
