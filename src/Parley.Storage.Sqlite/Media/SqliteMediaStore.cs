using Microsoft.Data.Sqlite;
using Parley.Abstractions.Media;
using Parley.Storage.Sqlite.Internal;

namespace Parley.Storage.Sqlite.Media;

/// <summary>
/// Uploads, objects and references: a view over the file's <see cref="SqliteDatabase"/> (tables <c>media_*</c>,
/// migration 9); writes go through the owner's writer queue.
/// </summary>
public sealed class SqliteMediaStore(SqliteDatabase database) : IMediaStore
{
    private const string UploadColumns = "upload_id, user_id, declared_kind, file_name, declared_type, size, part_size, part_count, object_id, store_upload_id, state, created_at, expires_at";
    private const string ObjectColumns = "object_id, owner_id, kind, size, content_type, file_name, sha256, width, height, thumbnail_id, thumbnail_width, thumbnail_height, parent_id, created_at";
    private readonly SqliteDatabase _database = database ?? throw new ArgumentNullException(nameof(database));

    /// <summary>Initialises the owner (idempotent: the server has usually done it already at start-up).</summary>
    public Task InitializeAsync(CancellationToken cancellationToken = default) => _database.InitializeAsync(cancellationToken);

    public Task CreateUploadAsync(UploadRecord upload, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(upload);
        return ExecuteAsync(
            $"INSERT INTO media_uploads ({UploadColumns}) VALUES ($id, $user, $kind, $name, $type, $size, $psize, $pcount, $obj, $store, $state, $created, $expires);",
            c =>
            {
                c.Parameters.AddWithValue("$id", upload.UploadId);
                c.Parameters.AddWithValue("$user", upload.UserId);
                c.Parameters.AddWithValue("$kind", (int)upload.DeclaredKind);
                c.Parameters.AddWithValue("$name", upload.FileName);
                c.Parameters.AddWithValue("$type", upload.DeclaredContentType);
                c.Parameters.AddWithValue("$size", upload.Size);
                c.Parameters.AddWithValue("$psize", upload.PartSize);
                c.Parameters.AddWithValue("$pcount", upload.PartCount);
                c.Parameters.AddWithValue("$obj", upload.ObjectId);
                c.Parameters.AddWithValue("$store", upload.StoreUploadId);
                c.Parameters.AddWithValue("$state", (int)upload.State);
                c.Parameters.AddWithValue("$created", upload.CreatedAt);
                c.Parameters.AddWithValue("$expires", upload.ExpiresAt);
            },
            cancellationToken);
    }

    public async Task<UploadRecord?> GetUploadAsync(string uploadId, CancellationToken cancellationToken = default) =>
        First(await QueryAsync($"SELECT {UploadColumns} FROM media_uploads WHERE upload_id = $id;", c => c.Parameters.AddWithValue("$id", uploadId), ReadUpload, cancellationToken).ConfigureAwait(false));

    public Task SavePartAsync(UploadPartRecord part, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(part);
        return ExecuteAsync(
            """
            INSERT INTO media_upload_parts (upload_id, part_number, size, sha256, etag) VALUES ($id, $n, $size, $sha, $etag)
            ON CONFLICT (upload_id, part_number) DO UPDATE SET size = $size, sha256 = $sha, etag = $etag;
            """,
            c =>
            {
                c.Parameters.AddWithValue("$id", part.UploadId);
                c.Parameters.AddWithValue("$n", part.PartNumber);
                c.Parameters.AddWithValue("$size", part.Size);
                c.Parameters.AddWithValue("$sha", part.Sha256);
                c.Parameters.AddWithValue("$etag", part.ETag);
            },
            cancellationToken);
    }

    public Task DeletePartsAsync(string uploadId, IReadOnlyCollection<int> partNumbers, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(partNumbers);
        return partNumbers.Count == 0
            ? Task.CompletedTask
            : ExecuteAsync(
                "DELETE FROM media_upload_parts WHERE upload_id = $id AND part_number IN (SELECT value FROM json_each($numbers));",
                c =>
                {
                    c.Parameters.AddWithValue("$id", uploadId);
                    c.Parameters.AddWithValue("$numbers", System.Text.Json.JsonSerializer.Serialize(partNumbers));
                },
                cancellationToken);
    }

    public Task<IReadOnlyList<UploadPartRecord>> GetPartsAsync(string uploadId, CancellationToken cancellationToken = default) =>
        QueryAsync(
            "SELECT upload_id, part_number, size, sha256, etag FROM media_upload_parts WHERE upload_id = $id ORDER BY part_number;",
            c => c.Parameters.AddWithValue("$id", uploadId),
            r => new UploadPartRecord(r.GetString(0), r.GetInt32(1), r.GetInt64(2), r.GetString(3), r.GetString(4)),
            cancellationToken);

    public async Task<bool> CompleteUploadAsync(string uploadId, MediaObjectRecord obj, MediaObjectRecord? thumbnail, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(obj);
        return await _database.WriteAsync(async (connection, cancellationToken) =>
        {
            SqliteTransaction? transaction = null;
            using (var update = connection.CreateCommand())
            {
                update.Transaction = transaction;
                update.CommandText = "UPDATE media_uploads SET state = 1 WHERE upload_id = $id AND state = 0;";
                update.Parameters.AddWithValue("$id", uploadId);
                if (await update.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) == 0)
                {
                    return false;
                }
            }

            await InsertObjectAsync(connection, transaction, obj, cancellationToken).ConfigureAwait(false);
            if (thumbnail is not null)
            {
                await InsertObjectAsync(connection, transaction, thumbnail, cancellationToken).ConfigureAwait(false);
            }

            using (var parts = connection.CreateCommand())
            {
                parts.Transaction = transaction;
                parts.CommandText = "DELETE FROM media_upload_parts WHERE upload_id = $id;";
                parts.Parameters.AddWithValue("$id", uploadId);
                await parts.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            }

            return true;
        }, cancellationToken).ConfigureAwait(false);
    }

    public async Task<bool> AbortUploadAsync(string uploadId, CancellationToken cancellationToken = default) =>
        await ExecuteCountAsync("UPDATE media_uploads SET state = 2 WHERE upload_id = $id AND state = 0;", c => c.Parameters.AddWithValue("$id", uploadId), cancellationToken).ConfigureAwait(false) > 0;

    public Task<IReadOnlyList<UploadRecord>> GetExpiredUploadsAsync(long now, int limit, CancellationToken cancellationToken = default) =>
        QueryAsync(
            $"SELECT {UploadColumns} FROM media_uploads WHERE (state = 0 AND expires_at < $now) OR state = 2 ORDER BY expires_at LIMIT $limit;",
            c =>
            {
                c.Parameters.AddWithValue("$now", now);
                c.Parameters.AddWithValue("$limit", limit);
            },
            ReadUpload,
            cancellationToken);

    public Task DeleteUploadAsync(string uploadId, CancellationToken cancellationToken = default) =>
        ExecuteAsync(
            "DELETE FROM media_upload_parts WHERE upload_id = $id; DELETE FROM media_uploads WHERE upload_id = $id;",
            c => c.Parameters.AddWithValue("$id", uploadId),
            cancellationToken);

    public async Task<MediaObjectRecord?> GetObjectAsync(string objectId, CancellationToken cancellationToken = default) =>
        First(await QueryAsync($"SELECT {ObjectColumns} FROM media_objects WHERE object_id = $id;", c => c.Parameters.AddWithValue("$id", objectId), ReadObject, cancellationToken).ConfigureAwait(false));

    private static T? First<T>(IReadOnlyList<T> rows)
        where T : class => rows.Count > 0 ? rows[0] : null;

    public async Task<long> GetUsageAsync(string userId, CancellationToken cancellationToken = default)
    {
        var rows = await QueryAsync(
            """
            SELECT (SELECT COALESCE(SUM(size), 0) FROM media_objects WHERE owner_id = $user)
                 + (SELECT COALESCE(SUM(size), 0) FROM media_uploads WHERE user_id = $user AND state = 0);
            """,
            c => c.Parameters.AddWithValue("$user", userId),
            r => r.GetInt64(0),
            cancellationToken).ConfigureAwait(false);
        return rows[0];
    }

    public async Task<int> GetOpenUploadCountAsync(string userId, CancellationToken cancellationToken = default) =>
        (await QueryAsync(
            "SELECT COUNT(*) FROM media_uploads WHERE user_id = $user AND state = 0;",
            c => c.Parameters.AddWithValue("$user", userId),
            r => r.GetInt32(0),
            cancellationToken).ConfigureAwait(false))[0];

    public Task AddReferenceAsync(MediaReference reference, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(reference);
        return ExecuteAsync(
            """
            INSERT INTO media_refs (object_id, conversation_id, sender_id, client_msg_id, created_at) VALUES ($obj, $conv, $sender, $msg, $at)
            ON CONFLICT DO NOTHING;
            """,
            c =>
            {
                c.Parameters.AddWithValue("$obj", reference.ObjectId);
                c.Parameters.AddWithValue("$conv", reference.ConversationId);
                c.Parameters.AddWithValue("$sender", reference.SenderId);
                c.Parameters.AddWithValue("$msg", reference.ClientMsgId);
                c.Parameters.AddWithValue("$at", reference.CreatedAt);
            },
            cancellationToken);
    }

    public Task<IReadOnlyList<MediaReference>> GetReferencesAsync(string objectId, CancellationToken cancellationToken = default) =>
        QueryAsync(
            "SELECT object_id, conversation_id, sender_id, client_msg_id, created_at FROM media_refs WHERE object_id = $id;",
            c => c.Parameters.AddWithValue("$id", objectId),
            r => new MediaReference(r.GetString(0), r.GetString(1), r.GetString(2), r.GetString(3), r.GetInt64(4)),
            cancellationToken);

    public Task<IReadOnlyList<MediaObjectRecord>> GetObjectsCreatedBeforeAsync(long createdBefore, string afterObjectId, int limit, CancellationToken cancellationToken = default) =>
        QueryAsync(
            $"SELECT {ObjectColumns} FROM media_objects WHERE parent_id IS NULL AND created_at < $before AND object_id > $after ORDER BY object_id LIMIT $limit;",
            c =>
            {
                c.Parameters.AddWithValue("$before", createdBefore);
                c.Parameters.AddWithValue("$after", afterObjectId);
                c.Parameters.AddWithValue("$limit", limit);
            },
            ReadObject,
            cancellationToken);

    public Task DeleteObjectAsync(string objectId, CancellationToken cancellationToken = default) =>
        ExecuteAsync(
            """
            DELETE FROM media_refs WHERE object_id = $id;
            DELETE FROM media_objects WHERE parent_id = $id;
            DELETE FROM media_objects WHERE object_id = $id;
            """,
            c => c.Parameters.AddWithValue("$id", objectId),
            cancellationToken);

    private static async Task InsertObjectAsync(SqliteConnection connection, SqliteTransaction? transaction, MediaObjectRecord o, CancellationToken cancellationToken)
    {
        using var insert = connection.CreateCommand();
        insert.Transaction = transaction;
        insert.CommandText = $"INSERT OR IGNORE INTO media_objects ({ObjectColumns}) VALUES ($id, $owner, $kind, $size, $type, $name, $sha, $w, $h, $thumb, $tw, $th, $parent, $at);";
        insert.Parameters.AddWithValue("$id", o.ObjectId);
        insert.Parameters.AddWithValue("$owner", o.OwnerId);
        insert.Parameters.AddWithValue("$kind", (int)o.Kind);
        insert.Parameters.AddWithValue("$size", o.Size);
        insert.Parameters.AddWithValue("$type", o.ContentType);
        insert.Parameters.AddWithValue("$name", o.FileName);
        insert.Parameters.AddWithValue("$sha", o.Sha256);
        insert.Parameters.AddWithValue("$w", o.Width);
        insert.Parameters.AddWithValue("$h", o.Height);
        insert.Parameters.AddWithValue("$thumb", (object?)o.ThumbnailId ?? DBNull.Value);
        insert.Parameters.AddWithValue("$tw", o.ThumbnailWidth);
        insert.Parameters.AddWithValue("$th", o.ThumbnailHeight);
        insert.Parameters.AddWithValue("$parent", (object?)o.ParentId ?? DBNull.Value);
        insert.Parameters.AddWithValue("$at", o.CreatedAt);
        await insert.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    private static UploadRecord ReadUpload(SqliteDataReader r) => new(
        r.GetString(0), r.GetString(1), (MediaKind)r.GetInt32(2), r.GetString(3), r.GetString(4), r.GetInt64(5), r.GetInt64(6),
        r.GetInt32(7), r.GetString(8), r.GetString(9), (UploadState)r.GetInt32(10), r.GetInt64(11), r.GetInt64(12));

    private static MediaObjectRecord ReadObject(SqliteDataReader r) => new(
        r.GetString(0), r.GetString(1), (MediaKind)r.GetInt32(2), r.GetInt64(3), r.GetString(4), r.GetString(5), r.GetString(6),
        r.GetInt32(7), r.GetInt32(8), r.IsDBNull(9) ? null : r.GetString(9), r.GetInt32(10), r.GetInt32(11),
        r.IsDBNull(12) ? null : r.GetString(12), r.GetInt64(13));

    private async Task ExecuteAsync(string sql, Action<SqliteCommand> bind, CancellationToken cancellationToken) =>
        await ExecuteCountAsync(sql, bind, cancellationToken).ConfigureAwait(false);

    private Task<int> ExecuteCountAsync(string sql, Action<SqliteCommand> bind, CancellationToken cancellationToken) =>
        _database.WriteAsync(
            connection =>
            {
                using var command = connection.CreateCommand();
                command.CommandText = sql;
                bind(command);
                return command.ExecuteNonQuery();
            },
            cancellationToken);

    private async Task<IReadOnlyList<T>> QueryAsync<T>(string sql, Action<SqliteCommand> bind, Func<SqliteDataReader, T> read, CancellationToken cancellationToken)
    {
        var connection = await _database.OpenReaderAsync(cancellationToken).ConfigureAwait(false);
        await using (connection.ConfigureAwait(false))
        {
            using var command = connection.CreateCommand();
            command.CommandText = sql;
            bind(command);
            using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            var rows = new List<T>();
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                rows.Add(read(reader));
            }

            return rows;
        }
    }
}
