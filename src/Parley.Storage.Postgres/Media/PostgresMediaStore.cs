using Npgsql;
using Parley.Abstractions.Media;
using static Parley.Storage.Postgres.Internal.PostgresRows;

namespace Parley.Storage.Postgres.Media;

/// <summary>Uploads, objects and the messages that reference them on PostgreSQL (tables <c>media_*</c>, migration 6).</summary>
public sealed class PostgresMediaStore(PostgresDatabase database) : IMediaStore
{
    private const string UploadColumns = "upload_id, user_id, declared_kind, file_name, declared_type, size, part_size, part_count, object_id, store_upload_id, state, created_at, expires_at";
    private const string ObjectColumns = "object_id, owner_id, kind, size, content_type, file_name, sha256, width, height, thumbnail_id, thumbnail_width, thumbnail_height, parent_id, created_at";

    private readonly PostgresDatabase _database = database ?? throw new ArgumentNullException(nameof(database));

    /// <summary>Initialises the owner (idempotent: the server has usually done it already at start-up).</summary>
    public Task InitializeAsync(CancellationToken cancellationToken = default) => _database.InitializeAsync(cancellationToken);

    /// <inheritdoc />
    public Task CreateUploadAsync(UploadRecord upload, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(upload);
        return _database.ExecuteAsync(
            $"INSERT INTO media_uploads ({UploadColumns}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13);",
            cancellationToken,
            P(upload.UploadId),
            P(upload.UserId),
            P((int)upload.DeclaredKind),
            P(upload.FileName),
            P(upload.DeclaredContentType),
            P(upload.Size),
            P(upload.PartSize),
            P(upload.PartCount),
            P(upload.ObjectId),
            P(upload.StoreUploadId),
            P((int)upload.State),
            P(upload.CreatedAt),
            P(upload.ExpiresAt));
    }

    /// <inheritdoc />
    public async Task<UploadRecord?> GetUploadAsync(string uploadId, CancellationToken cancellationToken = default) =>
        First(await _database.QueryAsync($"SELECT {UploadColumns} FROM media_uploads WHERE upload_id = $1;", ReadUpload, cancellationToken, P(uploadId)).ConfigureAwait(false));

    /// <inheritdoc />
    public Task DeletePartsAsync(string uploadId, IReadOnlyCollection<int> partNumbers, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(partNumbers);
        return partNumbers.Count == 0
            ? Task.CompletedTask
            : _database.ExecuteAsync("DELETE FROM media_upload_parts WHERE upload_id = $1 AND part_number = ANY($2);", cancellationToken, P(uploadId), P(partNumbers.ToArray()));
    }

    public Task SavePartAsync(UploadPartRecord part, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(part);
        return _database.ExecuteAsync(
            """
            INSERT INTO media_upload_parts (upload_id, part_number, size, sha256, etag) VALUES ($1, $2, $3, $4, $5)
            ON CONFLICT (upload_id, part_number) DO UPDATE SET size = $3, sha256 = $4, etag = $5;
            """,
            cancellationToken,
            P(part.UploadId),
            P(part.PartNumber),
            P(part.Size),
            P(part.Sha256),
            P(part.ETag));
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<UploadPartRecord>> GetPartsAsync(string uploadId, CancellationToken cancellationToken = default) =>
        await _database.QueryAsync(
            "SELECT upload_id, part_number, size, sha256, etag FROM media_upload_parts WHERE upload_id = $1 ORDER BY part_number;",
            r => new UploadPartRecord(r.GetString(0), r.GetInt32(1), r.GetInt64(2), r.GetString(3), r.GetString(4)),
            cancellationToken,
            P(uploadId)).ConfigureAwait(false);

    /// <inheritdoc />
    public async Task<bool> CompleteUploadAsync(string uploadId, MediaObjectRecord obj, MediaObjectRecord? thumbnail, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(obj);
        var connection = await _database.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using (connection.ConfigureAwait(false))
        {
            var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
            await using (transaction.ConfigureAwait(false))
            {
                // Only an open upload completes, once: the row lock makes a concurrent second completion wait and then find it done.
                using (var update = Command(connection, "UPDATE media_uploads SET state = 1 WHERE upload_id = $1 AND state = 0;", P(uploadId)))
                {
                    if (await update.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) == 0)
                    {
                        return false;
                    }
                }

                using var batch = new NpgsqlBatch(connection);
                batch.BatchCommands.Add(InsertObject(obj));
                if (thumbnail is not null)
                {
                    batch.BatchCommands.Add(InsertObject(thumbnail));
                }

                batch.BatchCommands.Add(BatchCommand("DELETE FROM media_upload_parts WHERE upload_id = $1;", P(uploadId)));
                await batch.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
                await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
                return true;
            }
        }
    }

    /// <inheritdoc />
    public async Task<bool> AbortUploadAsync(string uploadId, CancellationToken cancellationToken = default) =>
        await _database.ExecuteAsync("UPDATE media_uploads SET state = 2 WHERE upload_id = $1 AND state = 0;", cancellationToken, P(uploadId)).ConfigureAwait(false) > 0;

    /// <inheritdoc />
    public async Task<IReadOnlyList<UploadRecord>> GetExpiredUploadsAsync(long now, int limit, CancellationToken cancellationToken = default) =>
        await _database.QueryAsync(
            $"SELECT {UploadColumns} FROM media_uploads WHERE (state = 0 AND expires_at < $1) OR state = 2 ORDER BY expires_at LIMIT $2;",
            ReadUpload,
            cancellationToken,
            P(now),
            P((long)Math.Max(0, limit))).ConfigureAwait(false);

    /// <inheritdoc />
    public async Task DeleteUploadAsync(string uploadId, CancellationToken cancellationToken = default)
    {
        var connection = await _database.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using (connection.ConfigureAwait(false))
        {
            using var batch = new NpgsqlBatch(connection);
            batch.BatchCommands.Add(BatchCommand("DELETE FROM media_upload_parts WHERE upload_id = $1;", P(uploadId)));
            batch.BatchCommands.Add(BatchCommand("DELETE FROM media_uploads WHERE upload_id = $1;", P(uploadId)));
            await batch.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    /// <inheritdoc />
    public async Task<MediaObjectRecord?> GetObjectAsync(string objectId, CancellationToken cancellationToken = default) =>
        First(await _database.QueryAsync($"SELECT {ObjectColumns} FROM media_objects WHERE object_id = $1;", ReadObject, cancellationToken, P(objectId)).ConfigureAwait(false));

    /// <inheritdoc />
    public async Task<long> GetUsageAsync(string userId, CancellationToken cancellationToken = default) =>
        (await _database.QueryAsync(
            """
            SELECT ((SELECT COALESCE(SUM(size), 0) FROM media_objects WHERE owner_id = $1)
                  + (SELECT COALESCE(SUM(size), 0) FROM media_uploads WHERE user_id = $1 AND state = 0))::bigint;
            """,
            r => r.GetInt64(0),
            cancellationToken,
            P(userId)).ConfigureAwait(false))[0];

    /// <inheritdoc />
    public async Task<int> GetOpenUploadCountAsync(string userId, CancellationToken cancellationToken = default) =>
        (await _database.QueryAsync("SELECT COUNT(*)::integer FROM media_uploads WHERE user_id = $1 AND state = 0;", r => r.GetInt32(0), cancellationToken, P(userId))
            .ConfigureAwait(false))[0];

    /// <inheritdoc />
    public Task AddReferenceAsync(MediaReference reference, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(reference);
        return _database.ExecuteAsync(
            "INSERT INTO media_refs (object_id, conversation_id, sender_id, client_msg_id, created_at) VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING;",
            cancellationToken,
            P(reference.ObjectId),
            P(reference.ConversationId),
            P(reference.SenderId),
            P(reference.ClientMsgId),
            P(reference.CreatedAt));
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<MediaReference>> GetReferencesAsync(string objectId, CancellationToken cancellationToken = default) =>
        await _database.QueryAsync(
            "SELECT object_id, conversation_id, sender_id, client_msg_id, created_at FROM media_refs WHERE object_id = $1;",
            r => new MediaReference(r.GetString(0), r.GetString(1), r.GetString(2), r.GetString(3), r.GetInt64(4)),
            cancellationToken,
            P(objectId)).ConfigureAwait(false);

    /// <inheritdoc />
    public async Task<IReadOnlyList<MediaObjectRecord>> GetObjectsCreatedBeforeAsync(long createdBefore, string afterObjectId, int limit, CancellationToken cancellationToken = default) =>
        await _database.QueryAsync(
            $"SELECT {ObjectColumns} FROM media_objects WHERE parent_id IS NULL AND created_at < $1 AND object_id > $2 ORDER BY object_id LIMIT $3;",
            ReadObject,
            cancellationToken,
            P(createdBefore),
            P(afterObjectId),
            P((long)Math.Max(0, limit))).ConfigureAwait(false);

    /// <inheritdoc />
    public async Task DeleteObjectAsync(string objectId, CancellationToken cancellationToken = default)
    {
        var connection = await _database.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using (connection.ConfigureAwait(false))
        {
            using var batch = new NpgsqlBatch(connection);
            batch.BatchCommands.Add(BatchCommand("DELETE FROM media_refs WHERE object_id = $1;", P(objectId)));
            batch.BatchCommands.Add(BatchCommand("DELETE FROM media_objects WHERE parent_id = $1;", P(objectId)));
            batch.BatchCommands.Add(BatchCommand("DELETE FROM media_objects WHERE object_id = $1;", P(objectId)));
            await batch.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    private static T? First<T>(List<T> rows)
        where T : class => rows.Count > 0 ? rows[0] : null;

    private static NpgsqlBatchCommand InsertObject(MediaObjectRecord o) =>
        BatchCommand(
            $"INSERT INTO media_objects ({ObjectColumns}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) ON CONFLICT (object_id) DO NOTHING;",
            P(o.ObjectId), P(o.OwnerId), P((int)o.Kind), P(o.Size), P(o.ContentType), P(o.FileName), P(o.Sha256), P(o.Width), P(o.Height),
            Text(o.ThumbnailId), P(o.ThumbnailWidth), P(o.ThumbnailHeight), Text(o.ParentId), P(o.CreatedAt));

    private static UploadRecord ReadUpload(NpgsqlDataReader r) => new(
        r.GetString(0), r.GetString(1), (MediaKind)r.GetInt32(2), r.GetString(3), r.GetString(4), r.GetInt64(5), r.GetInt64(6),
        r.GetInt32(7), r.GetString(8), r.GetString(9), (UploadState)r.GetInt32(10), r.GetInt64(11), r.GetInt64(12));

    private static MediaObjectRecord ReadObject(NpgsqlDataReader r) => new(
        r.GetString(0), r.GetString(1), (MediaKind)r.GetInt32(2), r.GetInt64(3), r.GetString(4), r.GetString(5), r.GetString(6),
        r.GetInt32(7), r.GetInt32(8), r.IsDBNull(9) ? null : r.GetString(9), r.GetInt32(10), r.GetInt32(11),
        r.IsDBNull(12) ? null : r.GetString(12), r.GetInt64(13));
}
