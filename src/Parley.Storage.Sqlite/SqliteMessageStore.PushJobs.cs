using Microsoft.Data.Sqlite;
using Parley.Abstractions.Messaging;

namespace Parley.Storage.Sqlite;

/// <summary>Durable super-group push jobs (ADR 0017, migration 22): written through the writer queue, one statement each.</summary>
public sealed partial class SqliteMessageStore : ISuperGroupPushJobStore
{
    private const string JobColumns = "job_id, kind, conversation_id, seq, name, after_user";

    /// <inheritdoc />
    public Task AddDigestsAsync(IReadOnlyList<SuperGroupDigestMark> marks, long now, CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (marks.Count == 0)
        {
            return Task.CompletedTask;
        }

        return _database.WriteAsync(
            writer =>
            {
                // The writer runs each write in its own transaction.
                using var command = writer.CreateCommand();
                command.CommandText = """
                    INSERT INTO super_push_jobs (kind, conversation_id, seq, name, created_at) VALUES (0, $conv, $seq, $name, $now)
                    ON CONFLICT (conversation_id) WHERE kind = 0 DO UPDATE SET seq = MAX(seq, excluded.seq), name = excluded.name;
                    """;
                var conv = command.Parameters.Add("$conv", SqliteType.Text);
                var seq = command.Parameters.Add("$seq", SqliteType.Integer);
                var name = command.Parameters.Add("$name", SqliteType.Text);
                command.Parameters.AddWithValue("$now", now);
                foreach (var mark in marks)
                {
                    conv.Value = mark.ConversationId;
                    seq.Value = mark.Seq;
                    name.Value = mark.Name;
                    command.ExecuteNonQuery();
                }

                return 0;
            },
            cancellationToken);
    }

    /// <inheritdoc />
    public Task AddMentionAllAsync(string conversationId, long seq, string name, long now, CancellationToken cancellationToken = default) =>
        ExecuteJobsAsync(
            "INSERT INTO super_push_jobs (kind, conversation_id, seq, name, created_at) VALUES (1, $conv, $seq, $name, $now);",
            cancellationToken,
            ("$conv", conversationId),
            ("$seq", seq),
            ("$name", name),
            ("$now", now));

    /// <inheritdoc />
    public Task<IReadOnlyList<SuperGroupPushJob>> ClaimAsync(SuperGroupPushJobKind kind, string owner, long now, long leaseUntil, int limit, CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        return _database.WriteAsync<IReadOnlyList<SuperGroupPushJob>>(
            writer =>
            {
                using var command = writer.CreateCommand();
                command.CommandText = $"""
                    UPDATE super_push_jobs SET owner = $owner, lease_until = $lease
                    WHERE job_id IN (SELECT job_id FROM super_push_jobs WHERE kind = $kind AND lease_until < $now ORDER BY job_id LIMIT $limit)
                    RETURNING {JobColumns};
                    """;
                command.Parameters.AddWithValue("$owner", owner);
                command.Parameters.AddWithValue("$lease", leaseUntil);
                command.Parameters.AddWithValue("$kind", (int)kind);
                command.Parameters.AddWithValue("$now", now);
                command.Parameters.AddWithValue("$limit", Math.Max(1, limit));
                var jobs = new List<SuperGroupPushJob>();
                using (var reader = command.ExecuteReader())
                {
                    while (reader.Read())
                    {
                        jobs.Add(new SuperGroupPushJob(
                            reader.GetInt64(0), (SuperGroupPushJobKind)reader.GetInt32(1), reader.GetString(2), reader.GetInt64(3), reader.GetString(4), reader.GetString(5)));
                    }
                }

                return [.. jobs.OrderBy(j => j.JobId)];
            },
            cancellationToken);
    }

    /// <inheritdoc />
    public async Task<bool> AdvanceAsync(long jobId, string owner, string after, long leaseUntil, CancellationToken cancellationToken = default) =>
        await ExecuteJobsAsync(
            "UPDATE super_push_jobs SET after_user = $after, lease_until = $lease WHERE job_id = $id AND owner = $owner;",
            cancellationToken,
            ("$after", after),
            ("$lease", leaseUntil),
            ("$id", jobId),
            ("$owner", owner)).ConfigureAwait(false) == 1;

    /// <inheritdoc />
    public Task CompleteAsync(long jobId, string owner, long seq, CancellationToken cancellationToken = default) =>
        ExecuteJobsAsync(
            """
            DELETE FROM super_push_jobs WHERE job_id = $id AND owner = $owner AND seq = $seq;
            UPDATE super_push_jobs SET after_user = '', owner = '', lease_until = 0 WHERE job_id = $id AND owner = $owner AND seq <> $seq;
            """,
            cancellationToken,
            ("$id", jobId),
            ("$owner", owner),
            ("$seq", seq));

    /// <inheritdoc />
    public Task ReleaseAsync(string owner, CancellationToken cancellationToken = default) =>
        ExecuteJobsAsync("UPDATE super_push_jobs SET owner = '', lease_until = 0 WHERE owner = $owner;", cancellationToken, ("$owner", owner));

    private Task<int> ExecuteJobsAsync(string sql, CancellationToken cancellationToken, params (string Name, object Value)[] parameters)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        return _database.WriteAsync(
            writer =>
            {
                using var command = writer.CreateCommand();
                command.CommandText = sql;
                foreach (var (name, value) in parameters)
                {
                    command.Parameters.AddWithValue(name, value);
                }

                return command.ExecuteNonQuery();
            },
            cancellationToken);
    }
}
