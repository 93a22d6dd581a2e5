using Parley.Abstractions.Messaging;
using static Parley.Storage.Postgres.Internal.PostgresRows;

namespace Parley.Storage.Postgres.Sessions;

/// <summary>
/// <see cref="IResumePositionStore"/> on PostgreSQL (table <c>resume_positions</c>), shared by every node: a device that
/// reconnects to another node finds its position there, and a take is one <c>DELETE … RETURNING</c>, so of two
/// connections racing for one position only one gets it.
/// </summary>
public sealed class PostgresResumePositionStore(PostgresDatabase database) : IResumePositionStore
{
    public Task SaveAsync(string userId, string deviceId, long version, long openedVersion, long savedAt, CancellationToken cancellationToken = default) =>
        database.ExecuteAsync(
            """
            INSERT INTO resume_positions (user_id, device_id, version, opened_version, saved_at) VALUES ($1, $2, $3, $4, $5)
            ON CONFLICT (user_id, device_id) DO UPDATE SET version = excluded.version, opened_version = excluded.opened_version, saved_at = excluded.saved_at
            WHERE excluded.opened_version >= resume_positions.opened_version;
            """,
            cancellationToken,
            P(userId),
            P(deviceId),
            P(version),
            P(openedVersion),
            P(savedAt));

    public async Task<long?> TakeAsync(string userId, string deviceId, long notBefore, CancellationToken cancellationToken = default)
    {
        var rows = await database.QueryAsync(
            "DELETE FROM resume_positions WHERE user_id = $1 AND device_id = $2 RETURNING version, saved_at;",
            r => (Version: r.GetInt64(0), SavedAt: r.GetInt64(1)),
            cancellationToken,
            P(userId),
            P(deviceId)).ConfigureAwait(false);
        return rows.Count == 1 && rows[0].SavedAt >= notBefore ? rows[0].Version : null;
    }

    public Task ForgetAsync(string userId, string deviceId, long openedVersion, CancellationToken cancellationToken = default) =>
        database.ExecuteAsync(
            "DELETE FROM resume_positions WHERE user_id = $1 AND device_id = $2 AND opened_version <= $3;",
            cancellationToken,
            P(userId),
            P(deviceId),
            P(openedVersion));

    public Task<int> PurgeAsync(long before, CancellationToken cancellationToken = default) =>
        database.ExecuteAsync("DELETE FROM resume_positions WHERE saved_at < $1;", cancellationToken, P(before));
}
