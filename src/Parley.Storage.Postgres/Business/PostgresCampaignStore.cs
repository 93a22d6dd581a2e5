using Npgsql;
using Parley.Abstractions.Business;
using static Parley.Storage.Postgres.Internal.PostgresRows;

namespace Parley.Storage.Postgres.Business;

/// <summary>
/// Marketing campaigns on PostgreSQL (tables <c>campaigns</c>, <c>campaign_audience</c>, <c>campaign_targets</c>, migration 10).
/// Every multi-row write is one statement (data-modifying CTEs), so it is atomic; the lease is a row condition, so runners on
/// different nodes serialise on the campaign's row lock and only the holder's writes take effect.
/// </summary>
public sealed class PostgresCampaignStore(PostgresDatabase database) : ICampaignStore
{
    private const string Columns =
        "campaign_id, name, spec, state, cursor, start_at, expires_at, created_at, updated_at, finished_at, lease_owner, lease_until";

    private readonly PostgresDatabase _database = database ?? throw new ArgumentNullException(nameof(database));

    /// <inheritdoc />
    public async Task<bool> CreateAsync(CampaignRecord campaign, IReadOnlyCollection<string> audience, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(campaign);
        ArgumentNullException.ThrowIfNull(audience);
        var created = await _database.QueryAsync(
            $"""
            WITH c AS (
                INSERT INTO campaigns ({Columns}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, NULL, NULL, 0)
                ON CONFLICT (campaign_id) DO NOTHING RETURNING campaign_id),
            a AS (
                INSERT INTO campaign_audience (campaign_id, user_id)
                SELECT DISTINCT c.campaign_id, u FROM c CROSS JOIN unnest($10::text[]) AS u
                ON CONFLICT DO NOTHING)
            SELECT count(*) FROM c;
            """,
            r => r.GetInt64(0),
            cancellationToken,
            P(campaign.CampaignId),
            P(campaign.Name),
            P(campaign.Spec),
            P((int)campaign.State),
            Text(campaign.Cursor),
            P(campaign.StartAt),
            P(campaign.ExpiresAt),
            P(campaign.CreatedAt),
            P(campaign.UpdatedAt),
            P(audience.ToArray())).ConfigureAwait(false);
        return created[0] == 1;
    }

    /// <inheritdoc />
    public async Task<CampaignRecord?> GetAsync(string campaignId, CancellationToken cancellationToken = default) =>
        (await _database.QueryAsync($"SELECT {Columns} FROM campaigns WHERE campaign_id = $1;", ReadCampaign, cancellationToken, P(campaignId)).ConfigureAwait(false)) is [var c] ? c : null;

    /// <inheritdoc />
    public async Task<IReadOnlyList<CampaignRecord>> ListAsync(CampaignState? state, string? afterId, int limit, CancellationToken cancellationToken = default) =>
        await _database.QueryAsync(
            $"SELECT {Columns} FROM campaigns WHERE ($1::integer IS NULL OR state = $1) AND campaign_id COLLATE \"C\" > $2 ORDER BY campaign_id COLLATE \"C\" LIMIT $3;",
            ReadCampaign,
            cancellationToken,
            new NpgsqlParameter { NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Integer, Value = state is { } s ? (int)s : DBNull.Value },
            P(afterId ?? string.Empty),
            P(Math.Max(0, limit))).ConfigureAwait(false);

    /// <inheritdoc />
    public async Task<IReadOnlyList<string>> ReadAudienceAsync(string campaignId, string? afterUserId, int limit, CancellationToken cancellationToken = default) =>
        await _database.QueryAsync(
            "SELECT user_id FROM campaign_audience WHERE campaign_id = $1 AND user_id > $2 ORDER BY user_id LIMIT $3;",
            r => r.GetString(0),
            cancellationToken,
            P(campaignId),
            P(afterUserId ?? string.Empty),
            P(Math.Max(0, limit))).ConfigureAwait(false);

    /// <inheritdoc />
    public async Task<IReadOnlyList<string>> ListRunnableAsync(long now, int limit, CancellationToken cancellationToken = default) =>
        await _database.QueryAsync(
            "SELECT campaign_id FROM campaigns WHERE state IN (0, 1) AND start_at <= $1 AND (lease_owner IS NULL OR lease_until < $1) ORDER BY start_at, campaign_id LIMIT $2;",
            r => r.GetString(0),
            cancellationToken,
            P(now),
            P(Math.Max(0, limit))).ConfigureAwait(false);

    /// <inheritdoc />
    public async Task<CampaignRecord?> TryAcquireAsync(string campaignId, string owner, long now, long leaseUntil, CancellationToken cancellationToken = default) =>
        (await _database.QueryAsync(
            $"""
            UPDATE campaigns SET state = 1, lease_owner = $2, lease_until = $4, updated_at = $3
            WHERE campaign_id = $1 AND state IN (0, 1) AND start_at <= $3
              AND (lease_owner IS NULL OR lease_owner = $2 OR lease_until < $3)
            RETURNING {Columns};
            """,
            ReadCampaign,
            cancellationToken,
            P(campaignId),
            P(owner),
            P(now),
            P(leaseUntil)).ConfigureAwait(false)) is [var c] ? c : null;

    /// <inheritdoc />
    public async Task<bool> CommitChunkAsync(string campaignId, string owner, long now, long leaseUntil, IReadOnlyList<CampaignTarget> targets, string? cursor, CampaignState? finalState, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(targets);

        // One statement: the fence (lease holder, Running) and the targets commit together or not at all.
        var held = await _database.QueryAsync(
            """
            WITH fence AS (
                UPDATE campaigns SET cursor = COALESCE($5, cursor), lease_until = $4, updated_at = $3,
                    state = COALESCE($6, state), finished_at = CASE WHEN $6::integer IS NULL THEN finished_at ELSE $3 END,
                    lease_owner = CASE WHEN $6::integer IS NULL THEN lease_owner ELSE NULL END
                WHERE campaign_id = $1 AND state = 1 AND lease_owner = $2 AND lease_until >= $3
                RETURNING campaign_id),
            t AS (
                INSERT INTO campaign_targets (campaign_id, user_id, state, reason, template_id, pushes, at)
                SELECT fence.campaign_id, x.user_id, x.state, x.reason, x.template_id, x.pushes, x.at
                FROM fence CROSS JOIN unnest($7::text[], $8::integer[], $9::text[], $10::text[], $11::integer[], $12::bigint[])
                    AS x (user_id, state, reason, template_id, pushes, at)
                ON CONFLICT DO NOTHING)
            SELECT count(*) FROM fence;
            """,
            r => r.GetInt64(0),
            cancellationToken,
            P(campaignId),
            P(owner),
            P(now),
            P(leaseUntil),
            Text(cursor),
            new NpgsqlParameter { NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Integer, Value = finalState is { } f ? (int)f : DBNull.Value },
            P(targets.Select(t => t.UserId).ToArray()),
            P(targets.Select(t => (int)t.State).ToArray()),
            P(targets.Select(t => t.Reason).ToArray()),
            P(targets.Select(t => t.TemplateId).ToArray()),
            P(targets.Select(t => t.Pushes).ToArray()),
            P(targets.Select(t => t.At).ToArray())).ConfigureAwait(false);
        return held[0] == 1;
    }

    /// <inheritdoc />
    public async Task<bool> CancelAsync(string campaignId, long now, CancellationToken cancellationToken = default) =>
        await _database.ExecuteAsync(
            "UPDATE campaigns SET state = 2, finished_at = $2, updated_at = $2, lease_owner = NULL WHERE campaign_id = $1 AND state IN (0, 1);",
            cancellationToken,
            P(campaignId),
            P(now)).ConfigureAwait(false) == 1;

    /// <inheritdoc />
    public Task ReleaseAsync(string campaignId, string owner, CancellationToken cancellationToken = default) =>
        _database.ExecuteAsync(
            "UPDATE campaigns SET lease_owner = NULL, lease_until = 0 WHERE campaign_id = $1 AND lease_owner = $2;",
            cancellationToken,
            P(campaignId),
            P(owner));

    /// <inheritdoc />
    public async Task<CampaignTargetCounts> CountTargetsAsync(string campaignId, CancellationToken cancellationToken = default)
    {
        var rows = await _database.QueryAsync(
            "SELECT state, COALESCE(reason, ''), COALESCE(template_id, ''), COUNT(*), SUM(pushes) FROM campaign_targets WHERE campaign_id = $1 GROUP BY 1, 2, 3;",
            r => ((CampaignTargetState)r.GetInt32(0), r.GetString(1), r.GetString(2), r.GetInt64(3), r.GetInt64(4)),
            cancellationToken,
            P(campaignId)).ConfigureAwait(false);
        return CampaignTargetCounts.From(rows);
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<CampaignTarget>> ListTargetsAsync(string campaignId, string? afterUserId, int limit, CancellationToken cancellationToken = default) =>
        await _database.QueryAsync(
            "SELECT user_id, state, reason, template_id, pushes, at FROM campaign_targets WHERE campaign_id = $1 AND user_id > $2 ORDER BY user_id LIMIT $3;",
            r => new CampaignTarget(r.GetString(0), (CampaignTargetState)r.GetInt32(1), r.IsDBNull(2) ? null : r.GetString(2), r.IsDBNull(3) ? null : r.GetString(3), r.GetInt32(4), r.GetInt64(5)),
            cancellationToken,
            P(campaignId),
            P(afterUserId ?? string.Empty),
            P(Math.Max(0, limit))).ConfigureAwait(false);

    private static CampaignRecord ReadCampaign(NpgsqlDataReader r) => new(
        r.GetString(0), r.GetString(1), r.GetString(2), (CampaignState)r.GetInt32(3), r.IsDBNull(4) ? null : r.GetString(4),
        r.GetInt64(5), r.GetInt64(6), r.GetInt64(7), r.GetInt64(8), r.IsDBNull(9) ? null : r.GetInt64(9), r.IsDBNull(10) ? null : r.GetString(10), r.GetInt64(11));
}
