namespace Parley.Abstractions.Media;

/// <summary>What an object holds, as sniffed from its bytes.</summary>
public enum MediaKind
{
    File = 0,
    Image = 1,
    Voice = 2,
    Video = 3,
}

public enum UploadState
{
    Open = 0,
    Completed = 1,
    Aborted = 2,
}

/// <summary>A multipart upload in progress (or finished). <see cref="ObjectId"/> is fixed at initiation.</summary>
public sealed record UploadRecord(
    string UploadId,
    string UserId,
    MediaKind DeclaredKind,
    string FileName,
    string DeclaredContentType,
    long Size,
    long PartSize,
    int PartCount,
    string ObjectId,
    string StoreUploadId,
    UploadState State,
    long CreatedAt,
    long ExpiresAt);

/// <summary>One stored part: its length, SHA-256 (lowercase hex) and the blob store's ETag.</summary>
public sealed record UploadPartRecord(string UploadId, int PartNumber, long Size, string Sha256, string ETag);

/// <summary>A stored object. Thumbnails are objects too, pointing to their original through <see cref="ParentId"/>.</summary>
public sealed record MediaObjectRecord(
    string ObjectId,
    string OwnerId,
    MediaKind Kind,
    long Size,
    string ContentType,
    string FileName,
    string Sha256,
    int Width,
    int Height,
    string? ThumbnailId,
    int ThumbnailWidth,
    int ThumbnailHeight,
    string? ParentId,
    long CreatedAt);

/// <summary>A message that names an object: (conversation, sender, client message id) identifies it.</summary>
public sealed record MediaReference(string ObjectId, string ConversationId, string SenderId, string ClientMsgId, long CreatedAt);

/// <summary>Durable records of uploads, objects and the messages that reference them. Thread-safe.</summary>
public interface IMediaStore
{
    Task InitializeAsync(CancellationToken cancellationToken = default);

    Task CreateUploadAsync(UploadRecord upload, CancellationToken cancellationToken = default);

    Task<UploadRecord?> GetUploadAsync(string uploadId, CancellationToken cancellationToken = default);

    /// <summary>Records a stored part (replacing an earlier record of the same part).</summary>
    Task SavePartAsync(UploadPartRecord part, CancellationToken cancellationToken = default);

    /// <summary>
    /// Forgets the records of the given parts of an upload (the object store refused them at completion), so the upload's
    /// state lists them as missing and a resume sends them again. Unknown part numbers are ignored.
    /// </summary>
    Task DeletePartsAsync(string uploadId, IReadOnlyCollection<int> partNumbers, CancellationToken cancellationToken = default);

    /// <summary>The upload's stored parts, ascending by part number.</summary>
    Task<IReadOnlyList<UploadPartRecord>> GetPartsAsync(string uploadId, CancellationToken cancellationToken = default);

    /// <summary>
    /// In one transaction: stores the object (and its thumbnail, if any) and marks the upload completed. Returns false
    /// (changing nothing) when the upload is no longer open.
    /// </summary>
    Task<bool> CompleteUploadAsync(string uploadId, MediaObjectRecord obj, MediaObjectRecord? thumbnail, CancellationToken cancellationToken = default);

    /// <summary>Marks an open upload aborted; false when it was not open.</summary>
    Task<bool> AbortUploadAsync(string uploadId, CancellationToken cancellationToken = default);

    /// <summary>Open uploads whose expiry is before <paramref name="now"/> (oldest first, at most <paramref name="limit"/>).</summary>
    Task<IReadOnlyList<UploadRecord>> GetExpiredUploadsAsync(long now, int limit, CancellationToken cancellationToken = default);

    /// <summary>Deletes the records of an upload and its parts.</summary>
    Task DeleteUploadAsync(string uploadId, CancellationToken cancellationToken = default);

    Task<MediaObjectRecord?> GetObjectAsync(string objectId, CancellationToken cancellationToken = default);

    /// <summary>Bytes of a user's stored objects plus the declared sizes of their open uploads.</summary>
    Task<long> GetUsageAsync(string userId, CancellationToken cancellationToken = default);

    /// <summary>How many open uploads the user has.</summary>
    Task<int> GetOpenUploadCountAsync(string userId, CancellationToken cancellationToken = default);

    /// <summary>Records that a message references an object (idempotent).</summary>
    Task AddReferenceAsync(MediaReference reference, CancellationToken cancellationToken = default);

    Task<IReadOnlyList<MediaReference>> GetReferencesAsync(string objectId, CancellationToken cancellationToken = default);

    /// <summary>
    /// Originals (not thumbnails) created before <paramref name="createdBefore"/>, at most <paramref name="limit"/>,
    /// after <paramref name="afterObjectId"/> in id order: the sweeper's candidates.
    /// </summary>
    Task<IReadOnlyList<MediaObjectRecord>> GetObjectsCreatedBeforeAsync(long createdBefore, string afterObjectId, int limit, CancellationToken cancellationToken = default);

    /// <summary>Deletes an object's record, its thumbnail's record and its references.</summary>
    Task DeleteObjectAsync(string objectId, CancellationToken cancellationToken = default);
}
