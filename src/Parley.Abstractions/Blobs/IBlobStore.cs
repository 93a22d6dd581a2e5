namespace Parley.Abstractions.Blobs;

/// <summary>
/// Object storage for media bytes (the filesystem by default, or S3-compatible storage). Keys are relative,
/// slash-separated names of lowercase letters, digits, <c>-</c>, <c>_</c> and <c>.</c> (see <see cref="BlobKeys"/>).
/// Every write is atomic and durable when its task completes: a reader sees a whole object or none.
/// Thread-safe. Every provider passes the blob store compliance suite.
/// </summary>
public interface IBlobStore
{
    /// <summary>Writes a whole object of exactly <paramref name="length"/> bytes, replacing any object with that key.</summary>
    /// <exception cref="BlobLengthMismatchException">The stream did not hold exactly <paramref name="length"/> bytes; nothing was stored.</exception>
    Task PutAsync(string key, Stream content, long length, CancellationToken cancellationToken = default);

    /// <summary>The object's length, or null when it does not exist.</summary>
    Task<long?> GetLengthAsync(string key, CancellationToken cancellationToken = default);

    /// <summary>
    /// Opens bytes <paramref name="offset"/> .. <paramref name="offset"/> + <paramref name="length"/> - 1 (to the end when
    /// <paramref name="length"/> is null) for reading; null when the object does not exist.
    /// </summary>
    Task<Stream?> OpenReadAsync(string key, long offset = 0, long? length = null, CancellationToken cancellationToken = default);

    /// <summary>Deletes the object; no error when it does not exist.</summary>
    Task DeleteAsync(string key, CancellationToken cancellationToken = default);

    /// <summary>Starts a multipart upload of <paramref name="key"/>; returns the store's upload id.</summary>
    Task<string> StartMultipartAsync(string key, CancellationToken cancellationToken = default);

    /// <summary>
    /// Stores part <paramref name="partNumber"/> (1-based) of a multipart upload, replacing an earlier copy of it.
    /// Every part but the last must be at least <see cref="MinPartSize"/> bytes. Durable when the task completes.
    /// </summary>
    /// <exception cref="BlobLengthMismatchException">The stream did not hold exactly <paramref name="length"/> bytes.</exception>
    /// <exception cref="BlobNotFoundException">The multipart upload does not exist (aborted or never started).</exception>
    Task<BlobPart> PutPartAsync(string key, string uploadId, int partNumber, Stream content, long length, CancellationToken cancellationToken = default);

    /// <summary>
    /// Joins the parts, in the given order, into the object <paramref name="key"/> atomically and durably, and forgets
    /// the upload. Completing an upload whose object already exists and whose upload is gone is not an error
    /// (a retry after a crash).
    /// </summary>
    /// <exception cref="BlobNotFoundException">The upload or one of its parts does not exist and the object was not stored.</exception>
    /// <exception cref="BlobPartsRejectedException">The store refused a part's ETag (S3 InvalidPart); the upload stays open.</exception>
    Task CompleteMultipartAsync(string key, string uploadId, IReadOnlyList<BlobPart> parts, CancellationToken cancellationToken = default);

    /// <summary>Discards a multipart upload and its parts; no error when it does not exist.</summary>
    Task AbortMultipartAsync(string key, string uploadId, CancellationToken cancellationToken = default);

    /// <summary>
    /// A URL that serves the object directly (an S3 presigned GET with the given response headers), or null when
    /// the server must stream the bytes itself (the filesystem store).
    /// </summary>
    Uri? GetDirectDownloadUrl(string key, DateTimeOffset expiresAt, string contentType, string contentDisposition);

    /// <summary>
    /// True when clients PUT multipart parts to the store directly (<see cref="GetDirectPartUploadUrl"/>), so the server
    /// never sees the bytes of a part until it reads the joined object back.
    /// </summary>
    bool DirectPartUploads => false;

    /// <summary>
    /// A URL to which a client PUTs part <paramref name="partNumber"/> of a multipart upload directly (an S3 presigned
    /// UploadPart URL; the store answers the part's ETag in the <c>ETag</c> header), or null when parts go through the
    /// server (<see cref="DirectPartUploads"/> false).
    /// </summary>
    Uri? GetDirectPartUploadUrl(string key, string uploadId, int partNumber, DateTimeOffset expiresAt) => null;

    /// <summary>Smallest size of every part but the last (5 MiB, S3's rule, for every provider alike).</summary>
    public const long MinPartSize = 5 * 1024 * 1024;
}

/// <summary>One stored part of a multipart upload.</summary>
public sealed record BlobPart(int PartNumber, long Length, string ETag);

/// <summary>Rules for blob keys, shared by every provider.</summary>
public static class BlobKeys
{
    public const int MaxLength = 512;

    /// <summary>True for 1..512 characters of <c>[a-z0-9._-]</c> segments joined by single slashes, no segment starting with a dot.</summary>
    public static bool IsValid(string? key)
    {
        if (string.IsNullOrEmpty(key) || key.Length > MaxLength || key[0] == '/' || key[^1] == '/')
        {
            return false;
        }

        var segmentStart = true;
        foreach (var c in key)
        {
            if (c == '/')
            {
                if (segmentStart)
                {
                    return false;
                }

                segmentStart = true;
                continue;
            }

            if (segmentStart && c == '.')
            {
                return false;
            }

            if (!(char.IsAsciiLetterLower(c) || char.IsAsciiDigit(c) || c is '-' or '_' or '.'))
            {
                return false;
            }

            segmentStart = false;
        }

        return true;
    }

    /// <summary>Throws <see cref="ArgumentException"/> for an invalid key.</summary>
    public static void Validate(string key)
    {
        if (!IsValid(key))
        {
            throw new ArgumentException("A blob key is 1..512 characters of [a-z0-9._-] segments joined by '/', no segment starting with '.'.", nameof(key));
        }
    }
}

/// <summary>A stream did not hold the length it was declared with; nothing was stored.</summary>
public sealed class BlobLengthMismatchException : IOException
{
    public BlobLengthMismatchException()
    {
    }

    public BlobLengthMismatchException(string message)
        : base(message)
    {
    }

    public BlobLengthMismatchException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}

/// <summary>
/// The store refused to join a multipart upload's parts because a part's ETag is not the one it holds for that part (S3's
/// InvalidPart: a client confirmed an ETag the store never issued, or the part was never stored). Nothing was joined; the
/// upload is still open.
/// </summary>
public sealed class BlobPartsRejectedException : IOException
{
    public BlobPartsRejectedException()
    {
    }

    public BlobPartsRejectedException(string message)
        : base(message)
    {
    }

    public BlobPartsRejectedException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    public BlobPartsRejectedException(string message, IReadOnlyList<int>? partNumbers, Exception? innerException)
        : base(message, innerException)
    {
        PartNumbers = partNumbers;
    }

    /// <summary>The refused parts, when the store could tell (S3 ListParts); null when any part may be the bad one.</summary>
    public IReadOnlyList<int>? PartNumbers { get; }
}

/// <summary>A multipart upload or part the call needs does not exist.</summary>
public sealed class BlobNotFoundException : IOException
{
    public BlobNotFoundException()
    {
    }

    public BlobNotFoundException(string message)
        : base(message)
    {
    }

    public BlobNotFoundException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
