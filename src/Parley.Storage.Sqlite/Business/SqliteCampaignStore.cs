using Microsoft.Data.Sqlite;
using Parley.Abstractions.Business;

namespace Parley.Storage.Sqlite.Business;

/// <summary>
/// Marketing campaigns: a view over the file's <see cref="SqliteDatabase"/> (tables <c>campaigns</c>, <c>campaign_audience</c>,
/// <c>campaign_targets</c>, migration 12). Each write is one write of the writer queue, so a chunk commit is atomic.
/// </summary>
public sealed class SqliteCampaignStore(SqliteDatabase database) : ICampaignStore
{
    private const string Columns =
        "campaign_id, name, spec, state, cursor, start_at, expires_at, created_at, updated_at, finished_at, lease_owner, lease_until";

    // The runner's fence: only the lease holder of a Running campaign writes.
    private const string Held = "campaign_id = $id AND state = 1 AND lease_owner = $owner AND lease_until >= $now";

    private readonly SqliteDatabase _database = database ?? throw new ArgumentNullException(nameof(database));

    /// <inheritdoc />
    public Task<bool> CreateAsync(CampaignRecord campaign, IReadOnlyCollection<string> audience, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(campaign);
        ArgumentNullException.ThrowIfNull(audience);
        return _database.WriteAsync(connection =>
        {
            using var insert = connection.CreateCommand();
            insert.CommandText = $"""
                INSERT INTO campaigns ({Columns}) VALUES ($id, $name, $spec, $state, $cursor, $start, $expires, $created, $updated, NULL, NULL, 0)
                ON CONFLICT (campaign_id) DO NOTHING;
                """;
            insert.Parameters.AddWithValue("$id", campaign.CampaignId);
            insert.Parameters.AddWithValue("$name", campaign.Name);
            insert.Parameters.AddWithValue("$spec", campaign.Spec);
            insert.Parameters.AddWithValue("$state", (int)campaign.State);
            insert.Parameters.AddWithValue("$cursor", (object?)campaign.Cursor ?? DBNull.Value);
            insert.Parameters.AddWithValue("$start", campaign.StartAt);
            insert.Parameters.AddWithValue("$expires", campaign.ExpiresAt);
            insert.Parameters.AddWithValue("$created", campaign.CreatedAt);
            insert.Parameters.AddWithValue("$updated", campaign.UpdatedAt);
            if (insert.ExecuteNonQuery() != 1)
            {
                return false;
            }

            using var member = connection.CreateCommand();
            member.CommandText = "INSERT INTO campaign_audience (campaign_id, user_id) VALUES ($id, $user) ON CONFLICT DO NOTHING;";
            member.Parameters.AddWithValue("$id", campaign.CampaignId);
            var user = member.Parameters.Add("$user", SqliteType.Text);
            member.Prepare();
            foreach (var id in audience)
            {
                user.Value = id;
                member.ExecuteNonQuery();
            }

            return true;
        }, cancellationToken);
    }

    /// <inheritdoc />
    public async Task<CampaignRecord?> GetAsync(string campaignId, CancellationToken cancellationToken = default) =>
        (await _database.QueryAsync($"SELECT {Columns} FROM campaigns WHERE campaign_id = $id;", c => c.Parameters.AddWithValue("$id", campaignId), ReadCampaign, cancellationToken).ConfigureAwait(false)) is [var c] ? c : null;

    /// <inheritdoc />
    public Task<IReadOnlyList<CampaignRecord>> ListAsync(CampaignState? state, string? afterId, int limit, CancellationToken cancellationToken = default) =>
        _database.QueryAsync(
            $"SELECT {Columns} FROM campaigns WHERE ($state IS NULL OR state = $state) AND campaign_id > $after ORDER BY campaign_id LIMIT $limit;",
            c =>
            {
                c.Parameters.AddWithValue("$state", state is { } s ? (int)s : DBNull.Value);
                c.Parameters.AddWithValue("$after", afterId ?? string.Empty);
                c.Parameters.AddWithValue("$limit", Math.Max(0, limit));
            },
            ReadCampaign,
            cancellationToken);

    /// <inheritdoc />
    public Task<IReadOnlyList<string>> ReadAudienceAsync(string campaignId, string? afterUserId, int limit, CancellationToken cancellationToken = default) =>
        _database.QueryAsync(
            "SELECT user_id FROM campaign_audience WHERE campaign_id = $id AND user_id > $after ORDER BY user_id LIMIT $limit;",
            c =>
            {
                c.Parameters.AddWithValue("$id", campaignId);
                c.Parameters.AddWithValue("$after", afterUserId ?? string.Empty);
                c.Parameters.AddWithValue("$limit", Math.Max(0, limit));
            },
            r => r.GetString(0),
            cancellationToken);

    /// <inheritdoc />
    public Task<IReadOnlyList<string>> ListRunnableAsync(long now, int limit, CancellationToken cancellationToken = default) =>
        _database.QueryAsync(
            "SELECT campaign_id FROM campaigns WHERE state IN (0, 1) AND start_at <= $now AND (lease_owner IS NULL OR lease_until < $now) ORDER BY start_at, campaign_id LIMIT $limit;",
            c =>
            {
                c.Parameters.AddWithValue("$now", now);
                c.Parameters.AddWithValue("$limit", Math.Max(0, limit));
            },
            r => r.GetString(0),
            cancellationToken);

    /// <inheritdoc />
    public Task<CampaignRecord?> TryAcquireAsync(string campaignId, string owner, long now, long leaseUntil, CancellationToken cancellationToken = default) =>
        _database.WriteAsync(connection =>
        {
            using var command = connection.CreateCommand();
            command.CommandText = $"""
                UPDATE campaigns SET state = 1, lease_owner = $owner, lease_until = $until, updated_at = $now
                WHERE campaign_id = $id AND state IN (0, 1) AND start_at <= $now
                  AND (lease_owner IS NULL OR lease_owner = $owner OR lease_until < $now)
                RETURNING {Columns};
                """;
            command.Parameters.AddWithValue("$id", campaignId);
            command.Parameters.AddWithValue("$owner", owner);
            command.Parameters.AddWithValue("$now", now);
            command.Parameters.AddWithValue("$until", leaseUntil);
            using var reader = command.ExecuteReader();
            return reader.Read() ? ReadCampaign(reader) : null;
        }, cancellationToken);

    /// <inheritdoc />
    public Task<bool> CommitChunkAsync(string campaignId, string owner, long now, long leaseUntil, IReadOnlyList<CampaignTarget> targets, string? cursor, CampaignState? finalState, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(targets);
        return _database.WriteAsync(connection =>
        {
            // The fence first: a runner that lost its lease or whose campaign was cancelled writes nothing.
            using var update = connection.CreateCommand();
            update.CommandText = $"""
                UPDATE campaigns SET cursor = COALESCE($cursor, cursor), lease_until = $until, updated_at = $now,
                    state = COALESCE($final, state), finished_at = CASE WHEN $final IS NULL THEN finished_at ELSE $now END,
                    lease_owner = CASE WHEN $final IS NULL THEN lease_owner ELSE NULL END
                WHERE {Held};
                """;
            update.Parameters.AddWithValue("$id", campaignId);
            update.Parameters.AddWithValue("$owner", owner);
            update.Parameters.AddWithValue("$now", now);
            update.Parameters.AddWithValue("$until", leaseUntil);
            update.Parameters.AddWithValue("$cursor", (object?)cursor ?? DBNull.Value);
            update.Parameters.AddWithValue("$final", finalState is { } f ? (int)f : DBNull.Value);
            if (update.ExecuteNonQuery() != 1)
            {
                return false;
            }

            using var insert = connection.CreateCommand();
            insert.CommandText = """
                INSERT INTO campaign_targets (campaign_id, user_id, state, reason, template_id, pushes, at)
                VALUES ($id, $user, $state, $reason, $template, $pushes, $at) ON CONFLICT DO NOTHING;
                """;
            insert.Parameters.AddWithValue("$id", campaignId);
            var user = insert.Parameters.Add("$user", SqliteType.Text);
            var state = insert.Parameters.Add("$state", SqliteType.Integer);
            var reason = insert.Parameters.Add("$reason", SqliteType.Text);
            var template = insert.Parameters.Add("$template", SqliteType.Text);
            var pushes = insert.Parameters.Add("$pushes", SqliteType.Integer);
            var at = insert.Parameters.Add("$at", SqliteType.Integer);
            insert.Prepare();
            foreach (var target in targets)
            {
                user.Value = target.UserId;
                state.Value = (int)target.State;
                reason.Value = (object?)target.Reason ?? DBNull.Value;
                template.Value = (object?)target.TemplateId ?? DBNull.Value;
                pushes.Value = target.Pushes;
                at.Value = target.At;
                insert.ExecuteNonQuery();
            }

            return true;
        }, cancellationToken);
    }

    /// <inheritdoc />
    public async Task<bool> CancelAsync(string campaignId, long now, CancellationToken cancellationToken = default) =>
        await _database.ExecuteAsync(
            "UPDATE campaigns SET state = 2, finished_at = $now, updated_at = $now, lease_owner = NULL WHERE campaign_id = $id AND state IN (0, 1);",
            p =>
            {
                p.AddWithValue("$id", campaignId);
                p.AddWithValue("$now", now);
            },
            cancellationToken).ConfigureAwait(false) == 1;

    /// <inheritdoc />
    public Task ReleaseAsync(string campaignId, string owner, CancellationToken cancellationToken = default) =>
        _database.ExecuteAsync(
            "UPDATE campaigns SET lease_owner = NULL, lease_until = 0 WHERE campaign_id = $id AND lease_owner = $owner;",
            p =>
            {
                p.AddWithValue("$id", campaignId);
                p.AddWithValue("$owner", owner);
            },
            cancellationToken);

    /// <inheritdoc />
    public async Task<CampaignTargetCounts> CountTargetsAsync(string campaignId, CancellationToken cancellationToken = default)
    {
        var rows = await _database.QueryAsync(
            "SELECT state, COALESCE(reason, ''), COALESCE(template_id, ''), COUNT(*), SUM(pushes) FROM campaign_targets WHERE campaign_id = $id GROUP BY 1, 2, 3;",
            c => c.Parameters.AddWithValue("$id", campaignId),
            r => (State: (CampaignTargetState)r.GetInt32(0), Reason: r.GetString(1), Template: r.GetString(2), Count: r.GetInt64(3), Pushes: r.GetInt64(4)),
            cancellationToken).ConfigureAwait(false);
        return CampaignTargetCounts.From(rows.Select(r => (r.State, r.Reason, r.Template, r.Count, r.Pushes)));
    }

    /// <inheritdoc />
    public Task<IReadOnlyList<CampaignTarget>> ListTargetsAsync(string campaignId, string? afterUserId, int limit, CancellationToken cancellationToken = default) =>
        _database.QueryAsync(
            "SELECT user_id, state, reason, template_id, pushes, at FROM campaign_targets WHERE campaign_id = $id AND user_id > $after ORDER BY user_id LIMIT $limit;",
            c =>
            {
                c.Parameters.AddWithValue("$id", campaignId);
                c.Parameters.AddWithValue("$after", afterUserId ?? string.Empty);
                c.Parameters.AddWithValue("$limit", Math.Max(0, limit));
            },
            r => new CampaignTarget(r.GetString(0), (CampaignTargetState)r.GetInt32(1), r.IsDBNull(2) ? null : r.GetString(2), r.IsDBNull(3) ? null : r.GetString(3), r.GetInt32(4), r.GetInt64(5)),
            cancellationToken);

    private static CampaignRecord ReadCampaign(SqliteDataReader r) => new(
        r.GetString(0), r.GetString(1), r.GetString(2), (CampaignState)r.GetInt32(3), r.IsDBNull(4) ? null : r.GetString(4),
        r.GetInt64(5), r.GetInt64(6), r.GetInt64(7), r.GetInt64(8), r.IsDBNull(9) ? null : r.GetInt64(9), r.IsDBNull(10) ? null : r.GetString(10), r.GetInt64(11));
}
