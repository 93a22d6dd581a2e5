using System.Globalization;
using System.Security.Cryptography;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Parley.Abstractions.Blobs;
using Parley.Abstractions.Media;
using Parley.Abstractions.Messaging;
using Parley.Core;
using Parley.Core.Media;
using Parley.Media.Internal;
using Parley.Protocol;
using Parley.Protocol.V1;
using ErrorCode = Parley.Protocol.V1.ErrorCode;

namespace Parley.Media;

/// <summary>
/// Uploads (initiate, parts, complete, abort, resume), downloads (authorised signed URLs) and the object checks on send.
/// Every call names the caller from its token; nothing here trusts a client's claim about bytes.
/// </summary>
public sealed partial class MediaService : IMediaContentResolver
{
    internal const string PartPurpose = "part";
    internal const string GetPurpose = "get";
    internal const string ServerHashedPartPurpose = "part-server-hashed";
    private const long MaxPartSize = 64L * 1024 * 1024;
    private const int MaxParts = 10_000;

    private readonly IMediaStore _store;
    private readonly IBlobStore _blobs;
    private readonly IMessageStore _messages;
    private readonly UrlSigner _signer;
    private readonly MediaOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger<MediaService> _logger;

    internal MediaService(IMediaStore store, IBlobStore blobs, IMessageStore messages, UrlSigner signer, IOptions<MediaOptions> options, TimeProvider time, ILogger<MediaService> logger)
    {
        _store = store;
        _blobs = blobs;
        _messages = messages;
        _signer = signer;
        _options = options.Value;
        _time = time;
        _logger = logger;
    }

    internal IBlobStore Blobs => _blobs;

    internal MediaOptions Options => _options;

    internal static string ObjectKey(string objectId) => $"o/{objectId[..2]}/{objectId}";

    private long Now => _time.GetUtcNow().ToUnixTimeMilliseconds();

    internal long NowMs() => Now;

    /// <summary>Starts a resumable multipart upload.</summary>
    public async Task<MediaResult<UploadView>> InitiateAsync(string userId, string? kindName, string? fileName, long size, string? contentType, long? partSize, string baseUrl, CancellationToken cancellationToken = default)
    {
        if (!TryParseKind(kindName, out var kind))
        {
            return MediaResult.Fail<UploadView>(ErrorCode.BadRequest, "kind must be image, voice, video or file.");
        }

        if (size <= 0)
        {
            return MediaResult.Fail<UploadView>(ErrorCode.BadRequest, "size must be at least 1 byte (empty files cannot be uploaded).");
        }

        var limit = Limit(kind);
        if (size > limit)
        {
            return MediaResult.Fail<UploadView>(ErrorCode.TooLarge, $"A {ObjectView.KindName(kind)} may have at most {limit} bytes.");
        }

        if (contentType is { Length: > 255 })
        {
            return MediaResult.Fail<UploadView>(ErrorCode.BadRequest, "contentType is too long.");
        }

        var chosenPartSize = partSize ?? _options.DefaultPartSize;
        if (chosenPartSize is < IBlobStore.MinPartSize or > MaxPartSize)
        {
            return MediaResult.Fail<UploadView>(ErrorCode.BadRequest, $"partSize must be {IBlobStore.MinPartSize}..{MaxPartSize} bytes.");
        }

        var partCount = (int)Math.Min(int.MaxValue, (size + chosenPartSize - 1) / chosenPartSize);
        if (partCount > MaxParts)
        {
            return MediaResult.Fail<UploadView>(ErrorCode.BadRequest, $"An upload has at most {MaxParts} parts: choose a larger partSize.");
        }

        if (await _store.GetUsageAsync(userId, cancellationToken).ConfigureAwait(false) + size > _options.QuotaBytesPerUser)
        {
            return MediaResult.Fail<UploadView>(ErrorCode.Forbidden, $"Storage quota exceeded: a user may keep {_options.QuotaBytesPerUser} bytes.");
        }

        if (await CountOpenUploadsAsync(userId, cancellationToken).ConfigureAwait(false) >= _options.MaxOpenUploadsPerUser)
        {
            return MediaResult.Fail<UploadView>(ErrorCode.RateLimited, $"At most {_options.MaxOpenUploadsPerUser} uploads may be open at once: complete or abort one.");
        }

        var objectId = NewId();
        var storeUploadId = await _blobs.StartMultipartAsync(ObjectKey(objectId), cancellationToken).ConfigureAwait(false);
        var now = Now;
        var upload = new UploadRecord(
            NewId(), userId, kind, FileNames.Sanitize(fileName), contentType ?? string.Empty, size, chosenPartSize, partCount, objectId,
            storeUploadId, UploadState.Open, now, now + (long)_options.UploadLifetime.TotalMilliseconds);
        await _store.CreateUploadAsync(upload, cancellationToken).ConfigureAwait(false);
        LogUploadStarted(_logger, upload.UploadId, userId, size, partCount);
        return MediaResult.Success(View(upload, [], baseUrl));
    }

    /// <summary>The upload's state and fresh URLs for its missing parts (resume).</summary>
    public async Task<MediaResult<UploadView>> GetUploadAsync(string userId, string uploadId, string baseUrl, CancellationToken cancellationToken = default)
    {
        var upload = await OwnedUploadAsync(userId, uploadId, cancellationToken).ConfigureAwait(false);
        if (upload is null)
        {
            return MediaResult.Fail<UploadView>(ErrorCode.NotFound, "No such upload.");
        }

        var parts = upload.State == UploadState.Open ? await _store.GetPartsAsync(uploadId, cancellationToken).ConfigureAwait(false) : [];
        return MediaResult.Success(View(upload, parts, baseUrl));
    }

    /// <summary>
    /// Stores one part from a signed URL: checks the signature and expiry, the part number and length, and the
    /// SHA-256 the client declared; records the part only when all hold and the bytes are durable.
    /// </summary>
    public Task<MediaResult<PartView>> PutPartAsync(string uploadId, int partNumber, long expiresAt, string? signature, string? sha256, long? contentLength, Stream body, CancellationToken cancellationToken = default) =>
        PutPartAsync(PartPurpose, uploadId, partNumber, expiresAt, signature, sha256, contentLength, body, cancellationToken);

    /// <summary>
    /// Stores one part from a URL signed by <see cref="ServerHashedPartUrl"/>, for clients that cannot send a part's
    /// SHA-256 with it (OpenIM's SDK PUTs plain bytes to presigned URLs and names the parts' MD5s only at completion): the
    /// signature, expiry, part number and exact length are checked as for any part, and the server records the SHA-256 of
    /// what it received.
    /// </summary>
    public Task<MediaResult<PartView>> PutServerHashedPartAsync(string uploadId, int partNumber, long expiresAt, string? signature, long? contentLength, Stream body, CancellationToken cancellationToken = default) =>
        PutPartAsync(ServerHashedPartPurpose, uploadId, partNumber, expiresAt, signature, null, contentLength, body, cancellationToken);

    /// <summary>
    /// Part URLs for clients that name each part's MD5 only at completion (OpenIM's SDK): with a store that takes parts
    /// directly (<see cref="IBlobStore.DirectPartUploads"/>, S3 presigned uploads) the store's presigned UploadPart URLs, so
    /// the bytes never pass through Parley (completion joins the parts with their MD5s as ETags, which is what S3 answers for
    /// a part, and checks every part's MD5 against the joined object); otherwise a signed URL
    /// <c>{routeBase}/{uploadId}/{partNumber}?e=…&amp;s=…</c> for <see cref="PutServerHashedPartAsync"/>. Valid for the part-URL
    /// lifetime (at most until the upload expires); null unless <paramref name="userId"/> owns the open upload.
    /// </summary>
    public async Task<IReadOnlyList<(int PartNumber, long Size, string Url)>?> Md5ClientPartUrlsAsync(string userId, string uploadId, IEnumerable<int> partNumbers, string routeBase, CancellationToken cancellationToken = default)
    {
        var upload = await OwnedUploadAsync(userId, uploadId, cancellationToken).ConfigureAwait(false);
        if (upload is null || upload.State != UploadState.Open || upload.ExpiresAt <= Now)
        {
            return null;
        }

        var expiresAt = Math.Min(upload.ExpiresAt, Now + (long)_options.PartUrlLifetime.TotalMilliseconds);
        var direct = _blobs.DirectPartUploads;
        return [.. partNumbers.Where(n => n >= 1 && n <= upload.PartCount).Distinct().Order()
            .Select(n => (n, ExpectedPartSize(upload, n), direct
                ? _blobs.GetDirectPartUploadUrl(ObjectKey(upload.ObjectId), upload.StoreUploadId, n, DateTimeOffset.FromUnixTimeMilliseconds(expiresAt))!.ToString()
                : ServerHashedPartUrl(uploadId, n, expiresAt, routeBase)))];
    }

    private string ServerHashedPartUrl(string uploadId, int partNumber, long expiresAt, string routeBase) =>
        string.Create(CultureInfo.InvariantCulture, $"{routeBase}/{uploadId}/{partNumber}?e={expiresAt}&s={_signer.Sign(ServerHashedPartPurpose, PartResource(uploadId, partNumber), expiresAt)}");

    /// <summary>The part size for a file of <paramref name="size"/> bytes: the default, or larger when the file needs more than the part limit.</summary>
    public long ChoosePartSize(long size)
    {
        var partSize = _options.DefaultPartSize;
        if (size > partSize * MaxParts)
        {
            partSize = (size + MaxParts - 1) / MaxParts;
        }

        return Math.Clamp(partSize, IBlobStore.MinPartSize, MaxPartSize);
    }

    /// <summary>Part sizes an upload may choose, and the most parts it may have.</summary>
    public static (long Min, long Max, int MaxParts) PartLimits => (IBlobStore.MinPartSize, MaxPartSize, MaxParts);

    private async Task<MediaResult<PartView>> PutPartAsync(string purpose, string uploadId, int partNumber, long expiresAt, string? signature, string? sha256, long? contentLength, Stream body, CancellationToken cancellationToken)
    {
        if (!_signer.Verify(purpose, PartResource(uploadId, partNumber), expiresAt, signature))
        {
            return MediaResult.Fail<PartView>(ErrorCode.Forbidden, "The part URL's signature is not valid.");
        }

        if (expiresAt <= Now)
        {
            return MediaResult.Fail<PartView>(ErrorCode.Forbidden, "The part URL has expired: ask for the upload's state to get fresh URLs.");
        }

        var upload = await _store.GetUploadAsync(uploadId, cancellationToken).ConfigureAwait(false);
        if (upload is null || upload.State != UploadState.Open || upload.ExpiresAt <= Now)
        {
            return MediaResult.Fail<PartView>(ErrorCode.NotFound, "No such open upload.");
        }

        if (partNumber < 1 || partNumber > upload.PartCount)
        {
            return MediaResult.Fail<PartView>(ErrorCode.BadRequest, $"The part number must be 1..{upload.PartCount}.");
        }

        if (purpose == PartPurpose && (sha256 is not { Length: 64 } || !sha256.All(char.IsAsciiHexDigit)))
        {
            return MediaResult.Fail<PartView>(ErrorCode.BadRequest, "X-Parley-Sha256 must carry the part's SHA-256 as 64 hex characters.");
        }

        var expected = ExpectedPartSize(upload, partNumber);
        if (contentLength is { } declared && declared != expected)
        {
            return MediaResult.Fail<PartView>(ErrorCode.BadRequest, $"Part {partNumber} must have exactly {expected} bytes, not {declared}.");
        }

        using var hashing = new HashingStream(body, expected);
        BlobPart stored;
        try
        {
            stored = await _blobs.PutPartAsync(ObjectKey(upload.ObjectId), upload.StoreUploadId, partNumber, hashing, expected, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is BlobLengthMismatchException || hashing.TooLong)
        {
            return MediaResult.Fail<PartView>(ErrorCode.BadRequest, $"Part {partNumber} must have exactly {expected} bytes.");
        }
        catch (BlobNotFoundException)
        {
            return MediaResult.Fail<PartView>(ErrorCode.NotFound, "No such open upload.");
        }

        var actual = hashing.HashHex();
        if (sha256 is not null && !string.Equals(actual, sha256, StringComparison.OrdinalIgnoreCase))
        {
            // The stored copy is not recorded: completion ignores it and a retry of the part replaces it.
            return MediaResult.Fail<PartView>(ErrorCode.BadRequest, $"Part {partNumber} does not match its SHA-256: send it again.");
        }

        await _store.SavePartAsync(new UploadPartRecord(uploadId, partNumber, expected, actual, stored.ETag), cancellationToken).ConfigureAwait(false);
        return MediaResult.Success(new PartView(partNumber, expected, true, actual, null));
    }

    /// <summary>
    /// Records a part the client PUT to the store's presigned URL (<see cref="IBlobStore.DirectPartUploads"/>): the store's
    /// ETag (needed to join the parts) and the SHA-256 the client computed. Nothing is trusted yet: completion reads the
    /// joined object back and refuses the upload unless every part's bytes have the confirmed SHA-256 and the object the
    /// declared size. Confirming a part again replaces it (a re-sent part).
    /// </summary>
    public async Task<MediaResult<PartView>> ConfirmDirectPartAsync(string userId, string uploadId, int partNumber, string? etag, string? sha256, CancellationToken cancellationToken = default)
    {
        if (!_blobs.DirectPartUploads)
        {
            return MediaResult.Fail<PartView>(ErrorCode.BadRequest, "This server takes parts through its own part URLs; there is nothing to confirm.");
        }

        var upload = await OwnedUploadAsync(userId, uploadId, cancellationToken).ConfigureAwait(false);
        if (upload is null || upload.State != UploadState.Open || upload.ExpiresAt <= Now)
        {
            return MediaResult.Fail<PartView>(ErrorCode.NotFound, "No such open upload.");
        }

        if (partNumber < 1 || partNumber > upload.PartCount)
        {
            return MediaResult.Fail<PartView>(ErrorCode.BadRequest, $"The part number must be 1..{upload.PartCount}.");
        }

        if (sha256 is not { Length: 64 } || !sha256.All(char.IsAsciiHexDigit))
        {
            return MediaResult.Fail<PartView>(ErrorCode.BadRequest, "sha256 must be the part's SHA-256 as 64 hex characters.");
        }

        if (string.IsNullOrWhiteSpace(etag) || etag.Length > 256 || etag.Any(char.IsControl))
        {
            return MediaResult.Fail<PartView>(ErrorCode.BadRequest, "etag must be the ETag the store answered for the part.");
        }

        var size = ExpectedPartSize(upload, partNumber);
        var hash = sha256.ToLowerInvariant();
        await _store.SavePartAsync(new UploadPartRecord(uploadId, partNumber, size, hash, etag), cancellationToken).ConfigureAwait(false);
        return MediaResult.Success(new PartView(partNumber, size, true, hash, null));
    }

    /// <summary>
    /// Joins the parts into the object, sniffs it, strips image location data, makes a thumbnail and records the
    /// object. Completing a completed upload returns its object.
    /// </summary>
    public Task<MediaResult<ObjectView>> CompleteAsync(string userId, string uploadId, string? sha256, CancellationToken cancellationToken = default) =>
        CompleteAsync(userId, uploadId, sha256, null, cancellationToken);

    /// <summary>
    /// <see cref="CompleteAsync(string, string, string?, CancellationToken)"/>, checking each part's MD5 as well (OpenIM's SDK
    /// names its parts by the MD5 of their bytes, S3's part ETag): <paramref name="partMd5s"/> lists one lowercase hex MD5 per
    /// part in part order. The server hashes each part's stored bytes while it reads the joined object back; a mismatch
    /// refuses the upload (<c>BAD_REQUEST</c>, the object is deleted, nothing is recorded).
    /// </summary>
    public async Task<MediaResult<ObjectView>> CompleteAsync(string userId, string uploadId, string? sha256, IReadOnlyList<string>? partMd5s, CancellationToken cancellationToken = default)
    {
        var upload = await OwnedUploadAsync(userId, uploadId, cancellationToken).ConfigureAwait(false);
        if (upload is null || upload.State == UploadState.Aborted || (upload.State == UploadState.Open && upload.ExpiresAt <= Now))
        {
            return MediaResult.Fail<ObjectView>(ErrorCode.NotFound, "No such upload.");
        }

        if (upload.State == UploadState.Completed)
        {
            return await ExistingObjectAsync(upload.ObjectId, cancellationToken).ConfigureAwait(false);
        }

        if (partMd5s is not null && (partMd5s.Count != upload.PartCount || !partMd5s.All(IsMd5Hex)))
        {
            return MediaResult.Fail<ObjectView>(ErrorCode.BadRequest, $"The part MD5s must be {upload.PartCount} MD5s (32 hex characters each), one per part in order.");
        }

        var parts = await _store.GetPartsAsync(uploadId, cancellationToken).ConfigureAwait(false);
        var direct = _blobs.DirectPartUploads;
        if (direct && partMd5s is not null)
        {
            // An MD5-naming client (OpenIM) PUT its parts to the store's presigned URLs and confirms nothing: S3's ETag of a
            // part is the MD5 of its bytes, so the client's MD5s are the ETags to join with (a part the store does not hold
            // with that MD5 is refused by the store); the read-back below checks every part's MD5 against the stored bytes.
            var recorded = parts.ToDictionary(p => p.PartNumber);
            parts = [.. Enumerable.Range(1, upload.PartCount).Select(n => recorded.TryGetValue(n, out var p)
                ? p
                : new UploadPartRecord(uploadId, n, ExpectedPartSize(upload, n), string.Empty, $"\"{partMd5s[n - 1].ToLowerInvariant()}\""))];
        }

        var missing = Enumerable.Range(1, upload.PartCount).Except(parts.Select(p => p.PartNumber)).Take(20).ToList();
        if (missing.Count > 0)
        {
            return MediaResult.Fail<ObjectView>(ErrorCode.BadRequest, "Parts missing: " + string.Join(", ", missing) + ".");
        }

        var key = ObjectKey(upload.ObjectId);
        try
        {
            await _blobs.CompleteMultipartAsync(key, upload.StoreUploadId, [.. parts.Select(p => new BlobPart(p.PartNumber, p.Size, p.ETag))], cancellationToken).ConfigureAwait(false);
        }
        catch (BlobNotFoundException)
        {
            return MediaResult.Fail<ObjectView>(ErrorCode.BadRequest, "The stored parts are incomplete: send the missing parts again.");
        }
        catch (BlobPartsRejectedException e)
        {
            // The store does not hold these parts with the recorded ETags (a direct part confirmed with an ETag S3 never
            // issued, or one it no longer has). Keeping their records would list them as stored forever and every completion
            // would fail the same way: forget them, so the upload's state asks for them again (the SDKs resume at once).
            var refused = e.PartNumbers is { Count: > 0 } named ? named : [.. parts.Select(p => p.PartNumber)];
            await _store.DeletePartsAsync(uploadId, refused, cancellationToken).ConfigureAwait(false);
            LogPartsRefusedByStore(_logger, uploadId, refused.Count);
            return MediaResult.Fail<ObjectView>(ErrorCode.Conflict, string.Create(CultureInfo.InvariantCulture,
                $"The object store refused part(s) {string.Join(", ", refused.Take(20))}: send them again (the upload's state lists them as missing) and complete."));
        }

        var (head, wholeHash, length, bytes, storedMd5s, storedShas) = await ReadBackAsync(key, upload, partMd5s is not null, direct, cancellationToken).ConfigureAwait(false);
        if (length != upload.Size)
        {
            return await RefuseAsync(upload, ErrorCode.BadRequest, $"The upload has {length} bytes, not the declared {upload.Size}.", cancellationToken).ConfigureAwait(false);
        }

        if (direct)
        {
            // Parts went to the store directly: each part's range of the joined object must have the SHA-256 it was
            // confirmed with (a part of another length shifts every later range, so it fails too).
            foreach (var part in parts.Where(p => p.Sha256.Length > 0))
            {
                if (!string.Equals(part.Sha256, storedShas![part.PartNumber - 1], StringComparison.OrdinalIgnoreCase))
                {
                    return await RefuseAsync(upload, ErrorCode.BadRequest, $"Part {part.PartNumber} does not match its SHA-256: the store holds other bytes than the client confirmed. Upload the file again.", cancellationToken).ConfigureAwait(false);
                }
            }
        }

        if (partMd5s is not null)
        {
            for (var i = 0; i < partMd5s.Count; i++)
            {
                if (!string.Equals(partMd5s[i], storedMd5s![i], StringComparison.OrdinalIgnoreCase))
                {
                    return await RefuseAsync(upload, ErrorCode.BadRequest, $"Part {i + 1} does not match its MD5: the stored bytes are not the ones the client hashed. Upload the file again.", cancellationToken).ConfigureAwait(false);
                }
            }
        }

        if (sha256 is { Length: > 0 } && !string.Equals(sha256, wholeHash, StringComparison.OrdinalIgnoreCase))
        {
            return await RefuseAsync(upload, ErrorCode.BadRequest, "The upload does not match the declared SHA-256.", cancellationToken).ConfigureAwait(false);
        }

        var (kind, contentType) = Sniffer.Sniff(head);
        int width = 0, height = 0;
        MediaObjectRecord? thumbnail = null;
        if (kind == MediaKind.Image)
        {
            // HEIC/AVIF: Parley ships no HEVC/AV1 decoder, so these are measured from their container (ispe) instead.
            var heif = Sniffer.IsHeif(contentType);
            var probe = bytes is null ? null : heif ? Heif.Probe(bytes) : ImageProcessor.Probe(bytes);
            if (probe is null)
            {
                (kind, contentType) = (MediaKind.File, "application/octet-stream");
            }
            else
            {
                (width, height) = probe.Value;
                if ((long)width * height > _options.MaxImagePixels)
                {
                    return await RefuseAsync(upload, ErrorCode.TooLarge, $"The image has {width}x{height} pixels; at most {_options.MaxImagePixels} are allowed.", cancellationToken).ConfigureAwait(false);
                }

                if (_options.StripImageLocation && (contentType == "image/jpeg" ? ExifLocation.Strip(bytes!) : heif ? Heif.StripLocation(bytes!) : null) is { } stripped)
                {
                    using (var strippedStream = new MemoryStream(stripped))
                    {
                        await _blobs.PutAsync(key, strippedStream, stripped.Length, cancellationToken).ConfigureAwait(false);
                    }

                    bytes = stripped;
                    length = stripped.Length;
                    wholeHash = Convert.ToHexStringLower(SHA256.HashData(stripped));
                }

                // No thumbnail for HEIC/AVIF (nothing here decodes them): clients show the original, which every current
                // browser renders for AVIF and Apple's and Android's platforms for HEIC (docs/media.md).
                thumbnail = heif ? null : await MakeThumbnailAsync(upload, bytes!, cancellationToken).ConfigureAwait(false);
            }
        }

        var record = new MediaObjectRecord(
            upload.ObjectId, userId, kind, length, contentType, upload.FileName, wholeHash, width, height,
            thumbnail?.ObjectId, thumbnail?.Width ?? 0, thumbnail?.Height ?? 0, null, Now);
        if (!await _store.CompleteUploadAsync(uploadId, record, thumbnail, cancellationToken).ConfigureAwait(false))
        {
            return await ExistingObjectAsync(upload.ObjectId, cancellationToken).ConfigureAwait(false);
        }

        LogUploadCompleted(_logger, uploadId, upload.ObjectId, ObjectView.KindName(kind), length);
        return MediaResult.Success(ToView(record, null, null));
    }

    /// <summary>Aborts an open upload; its parts are deleted by the sweeper.</summary>
    public async Task<MediaResult<bool>> AbortAsync(string userId, string uploadId, CancellationToken cancellationToken = default)
    {
        var upload = await OwnedUploadAsync(userId, uploadId, cancellationToken).ConfigureAwait(false);
        if (upload is null || upload.State == UploadState.Completed)
        {
            return MediaResult.Fail<bool>(ErrorCode.NotFound, "No such open upload.");
        }

        await _store.AbortUploadAsync(uploadId, cancellationToken).ConfigureAwait(false);
        await _blobs.AbortMultipartAsync(ObjectKey(upload.ObjectId), upload.StoreUploadId, cancellationToken).ConfigureAwait(false);
        return MediaResult.Success(true);
    }

    /// <summary>
    /// The object with a signed download URL (and one for its thumbnail), for its owner or a current member of a
    /// conversation holding a live message that names it; NOT_FOUND for everyone else.
    /// </summary>
    public async Task<MediaResult<ObjectView>> GetObjectAsync(string userId, string objectId, string baseUrl, CancellationToken cancellationToken = default)
    {
        if (!MediaContentRules.IsObjectId(objectId))
        {
            return MediaResult.Fail<ObjectView>(ErrorCode.NotFound, "No such object.");
        }

        var obj = await _store.GetObjectAsync(objectId, cancellationToken).ConfigureAwait(false);
        var original = obj?.ParentId is { } parentId ? await _store.GetObjectAsync(parentId, cancellationToken).ConfigureAwait(false) : obj;
        if (obj is null || original is null || !await CanReadAsync(userId, original, cancellationToken).ConfigureAwait(false))
        {
            return MediaResult.Fail<ObjectView>(ErrorCode.NotFound, "No such object.");
        }

        var expiresAt = Now + (long)_options.DownloadUrlLifetime.TotalMilliseconds;
        var thumbnailUrl = obj.ThumbnailId is { } thumb ? DownloadUrl(thumb, "thumbnail.jpg", "image/jpeg", expiresAt, baseUrl) : null;
        return MediaResult.Success(ToView(obj, DownloadUrl(obj.ObjectId, obj.FileName, obj.ContentType, expiresAt, baseUrl), thumbnailUrl) with { ExpiresAt = expiresAt });
    }

    /// <summary>The object a signed download URL names, or an error when the signature, expiry or object fails.</summary>
    public async Task<MediaResult<MediaObjectRecord>> OpenSignedAsync(string objectId, long expiresAt, string? signature, CancellationToken cancellationToken = default)
    {
        if (!MediaContentRules.IsObjectId(objectId) || !_signer.Verify(GetPurpose, objectId, expiresAt, signature))
        {
            return MediaResult.Fail<MediaObjectRecord>(ErrorCode.Forbidden, "The download URL's signature is not valid.");
        }

        if (expiresAt <= Now)
        {
            return MediaResult.Fail<MediaObjectRecord>(ErrorCode.Forbidden, "The download URL has expired.");
        }

        var obj = await _store.GetObjectAsync(objectId, cancellationToken).ConfigureAwait(false);
        return obj is null ? MediaResult.Fail<MediaObjectRecord>(ErrorCode.NotFound, "No such object.") : MediaResult.Success(obj);
    }

    /// <inheritdoc />
    public async Task<CoreResult> ResolveAsync(string senderId, string conversationId, string clientMsgId, Content content, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(content);
        var now = Now;
        switch (content.BodyCase)
        {
            case Content.BodyOneofCase.Image:
            {
                var image = content.Image;
                var (obj, error) = await UsableAsync(senderId, image.ObjectId, MediaKind.Image, "an image", cancellationToken).ConfigureAwait(false);
                if (obj is null)
                {
                    return error;
                }

                image.Width = (uint)obj.Width;
                image.Height = (uint)obj.Height;
                image.Size = (ulong)obj.Size;
                image.ContentType = obj.ContentType;
                image.ThumbnailObjectId = obj.ThumbnailId ?? string.Empty;
                image.ThumbnailWidth = (uint)obj.ThumbnailWidth;
                image.ThumbnailHeight = (uint)obj.ThumbnailHeight;
                await ReferenceAsync(obj.ObjectId, conversationId, senderId, clientMsgId, now, cancellationToken).ConfigureAwait(false);
                return CoreResult.Ok;
            }

            case Content.BodyOneofCase.Voice:
            {
                var voice = content.Voice;
                var (obj, error) = await UsableAsync(senderId, voice.ObjectId, MediaKind.Voice, "audio", cancellationToken).ConfigureAwait(false);
                if (obj is null)
                {
                    return error;
                }

                voice.Size = (ulong)obj.Size;
                voice.ContentType = obj.ContentType;
                await ReferenceAsync(obj.ObjectId, conversationId, senderId, clientMsgId, now, cancellationToken).ConfigureAwait(false);
                return CoreResult.Ok;
            }

            case Content.BodyOneofCase.Video:
            {
                var video = content.Video;
                var (obj, error) = await UsableAsync(senderId, video.ObjectId, MediaKind.Video, "a video", cancellationToken).ConfigureAwait(false);
                if (obj is null)
                {
                    return error;
                }

                MediaObjectRecord? poster = null;
                if (video.PosterObjectId.Length > 0)
                {
                    (poster, error) = await UsableAsync(senderId, video.PosterObjectId, MediaKind.Image, "an image (the poster)", cancellationToken).ConfigureAwait(false);
                    if (poster is null)
                    {
                        return error;
                    }
                }

                video.Size = (ulong)obj.Size;
                video.ContentType = obj.ContentType;
                video.PosterWidth = (uint)(poster?.Width ?? 0);
                video.PosterHeight = (uint)(poster?.Height ?? 0);
                await ReferenceAsync(obj.ObjectId, conversationId, senderId, clientMsgId, now, cancellationToken).ConfigureAwait(false);
                if (poster is not null)
                {
                    await ReferenceAsync(poster.ObjectId, conversationId, senderId, clientMsgId, now, cancellationToken).ConfigureAwait(false);
                }

                return CoreResult.Ok;
            }

            case Content.BodyOneofCase.File:
            {
                var file = content.File;
                var (obj, error) = await UsableAsync(senderId, file.ObjectId, null, "a file", cancellationToken).ConfigureAwait(false);
                if (obj is null)
                {
                    return error;
                }

                file.Size = (ulong)obj.Size;
                file.ContentType = obj.ContentType;
                if (file.FileName.Length == 0)
                {
                    file.FileName = obj.FileName;
                }

                await ReferenceAsync(obj.ObjectId, conversationId, senderId, clientMsgId, now, cancellationToken).ConfigureAwait(false);
                return CoreResult.Ok;
            }

            default:
                return CoreResult.Ok;
        }
    }

    /// <summary>
    /// True when <paramref name="userId"/> owns the object or is an active member of a conversation holding a live
    /// (stored, not revoked) message that names it, from a seq the member may see.
    /// </summary>
    internal async Task<bool> CanReadAsync(string userId, MediaObjectRecord original, CancellationToken cancellationToken)
    {
        if (original.OwnerId == userId)
        {
            return true;
        }

        foreach (var reference in await _store.GetReferencesAsync(original.ObjectId, cancellationToken).ConfigureAwait(false))
        {
            var members = await _messages.GetMembersAsync(reference.ConversationId, cancellationToken).ConfigureAwait(false);
            var member = members.FirstOrDefault(m => m.UserId == userId);
            if (member is not { Active: true })
            {
                continue;
            }

            var message = await _messages.FindByClientMsgIdAsync(reference.ConversationId, reference.SenderId, reference.ClientMsgId, cancellationToken).ConfigureAwait(false);
            if (message is { Revoked: false } && message.Seq >= member.VisibleFrom)
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>Whether any message that references the object is live (stored and not revoked), and whether any was revoked.</summary>
    internal async Task<(bool Live, bool Revoked, bool Pending)> ReferenceStateAsync(string objectId, long pendingSince, CancellationToken cancellationToken)
    {
        bool revoked = false, pending = false;
        foreach (var reference in await _store.GetReferencesAsync(objectId, cancellationToken).ConfigureAwait(false))
        {
            var message = await _messages.FindByClientMsgIdAsync(reference.ConversationId, reference.SenderId, reference.ClientMsgId, cancellationToken).ConfigureAwait(false);
            if (message is { Revoked: false })
            {
                return (true, revoked, pending);
            }

            revoked |= message is { Revoked: true };
            pending |= message is null && reference.CreatedAt >= pendingSince;
        }

        return (false, revoked, pending);
    }

    private async Task<(MediaObjectRecord? Object, CoreResult Error)> UsableAsync(string senderId, string objectId, MediaKind? kind, string what, CancellationToken cancellationToken)
    {
        var obj = await _store.GetObjectAsync(objectId, cancellationToken).ConfigureAwait(false);
        if (obj is null || obj.ParentId is not null || !await CanReadAsync(senderId, obj, cancellationToken).ConfigureAwait(false))
        {
            return (null, (CoreResult)CoreResult.Fail(CoreError.NotFound, $"No such object: {objectId}."));
        }

        if (kind is { } k && obj.Kind != k)
        {
            return (null, (CoreResult)CoreResult.Fail(CoreError.InvalidArgument, $"Object {objectId} is not {what} (its bytes are {obj.ContentType}); send it as a file."));
        }

        return (obj, CoreResult.Ok);
    }

    private Task ReferenceAsync(string objectId, string conversationId, string senderId, string clientMsgId, long now, CancellationToken cancellationToken) =>
        _store.AddReferenceAsync(new MediaReference(objectId, conversationId, senderId, clientMsgId, now), cancellationToken);

    private async Task<MediaObjectRecord?> MakeThumbnailAsync(UploadRecord upload, byte[] bytes, CancellationToken cancellationToken)
    {
        (byte[] Jpeg, int Width, int Height)? thumb;
        try
        {
            thumb = ImageProcessor.Thumbnail(bytes, _options.ThumbnailSize);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            LogThumbnailFailed(_logger, e, upload.ObjectId);
            return null;
        }

        if (thumb is not { } t)
        {
            return null;
        }

        var id = NewId();
        using (var jpeg = new MemoryStream(t.Jpeg))
        {
            await _blobs.PutAsync(ObjectKey(id), jpeg, t.Jpeg.Length, cancellationToken).ConfigureAwait(false);
        }

        return new MediaObjectRecord(id, upload.UserId, MediaKind.Image, t.Jpeg.Length, "image/jpeg", "thumbnail.jpg",
            Convert.ToHexStringLower(SHA256.HashData(t.Jpeg)), t.Width, t.Height, null, 0, 0, upload.ObjectId, Now);
    }

    // Reads the stored object once: its head for sniffing, its SHA-256 and length, and (for images within the image
    // size limit) its bytes for measuring and thumbnails.
    // With partMd5s, also the MD5 of each part's range (part n covers bytes (n-1)*PartSize .. n*PartSize-1).
    private async Task<(byte[] Head, string Sha256, long Length, byte[]? Bytes, string[]? PartMd5s, string[]? PartSha256s)> ReadBackAsync(string key, UploadRecord upload, bool partMd5s, bool partShas, CancellationToken cancellationToken)
    {
        var stream = await _blobs.OpenReadAsync(key, cancellationToken: cancellationToken).ConfigureAwait(false)
            ?? throw new InvalidOperationException($"The object of upload {upload.UploadId} vanished after completion.");
        await using (stream.ConfigureAwait(false))
        {
            using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
#pragma warning disable CA5351 // OpenIM's protocol names parts by MD5 (S3's ETag); integrity is SHA-256 (above).
            using var partHash = partMd5s ? IncrementalHash.CreateHash(HashAlgorithmName.MD5) : null;
#pragma warning restore CA5351
            var md5s = partMd5s ? new string[upload.PartCount] : null;
            using var partSha = partShas ? IncrementalHash.CreateHash(HashAlgorithmName.SHA256) : null;
            var shas = partShas ? new string[upload.PartCount] : null;
            var part = 0;
            long partFilled = 0;
            using var keep = upload.Size <= _options.MaxImageBytes ? new MemoryStream((int)upload.Size) : null;
            var head = new byte[Sniffer.HeadLength];
            var headLength = 0;
            long total = 0;
            var buffer = new byte[128 * 1024];
            int read;
            while ((read = await stream.ReadAsync(buffer, cancellationToken).ConfigureAwait(false)) > 0)
            {
                hash.AppendData(buffer, 0, read);
                for (var offset = 0; (partHash is not null || partSha is not null) && offset < read && part < upload.PartCount;)
                {
                    var take = (int)Math.Min(read - offset, upload.PartSize - partFilled);
                    partHash?.AppendData(buffer, offset, take);
                    partSha?.AppendData(buffer, offset, take);
                    offset += take;
                    partFilled += take;
                    if (partFilled == upload.PartSize)
                    {
                        FinishPart(part++);
                        partFilled = 0;
                    }
                }

                if (headLength < head.Length)
                {
                    var n = Math.Min(read, head.Length - headLength);
                    Array.Copy(buffer, 0, head, headLength, n);
                    headLength += n;
                }

                total += read;
                if (keep is not null && total <= upload.Size)
                {
                    keep.Write(buffer, 0, read);
                }
            }

            if ((partHash is not null || partSha is not null) && part < upload.PartCount)
            {
                FinishPart(part);
            }

            return (head[..headLength], Convert.ToHexStringLower(hash.GetHashAndReset()), total, keep?.ToArray(), md5s, shas);

            void FinishPart(int index)
            {
                if (partHash is not null)
                {
                    md5s![index] = Convert.ToHexStringLower(partHash.GetHashAndReset());
                }

                if (partSha is not null)
                {
                    shas![index] = Convert.ToHexStringLower(partSha.GetHashAndReset());
                }
            }
        }
    }

    private async Task<MediaResult<ObjectView>> RefuseAsync(UploadRecord upload, ErrorCode code, string message, CancellationToken cancellationToken)
    {
        await _store.AbortUploadAsync(upload.UploadId, cancellationToken).ConfigureAwait(false);
        await _blobs.DeleteAsync(ObjectKey(upload.ObjectId), cancellationToken).ConfigureAwait(false);
        LogUploadRefused(_logger, upload.UploadId, message);
        return MediaResult.Fail<ObjectView>(code, message);
    }

    private async Task<MediaResult<ObjectView>> ExistingObjectAsync(string objectId, CancellationToken cancellationToken)
    {
        var obj = await _store.GetObjectAsync(objectId, cancellationToken).ConfigureAwait(false);
        return obj is null
            ? MediaResult.Fail<ObjectView>(ErrorCode.NotFound, "The upload's object was deleted.")
            : MediaResult.Success(ToView(obj, null, null));
    }

    private async Task<UploadRecord?> OwnedUploadAsync(string userId, string uploadId, CancellationToken cancellationToken)
    {
        if (!MediaContentRules.IsObjectId(uploadId))
        {
            return null;
        }

        var upload = await _store.GetUploadAsync(uploadId, cancellationToken).ConfigureAwait(false);

        // Another user's upload id answers exactly like an unknown one.
        return upload?.UserId == userId ? upload : null;
    }

    private async Task<int> CountOpenUploadsAsync(string userId, CancellationToken cancellationToken)
    {
        // Quota usage already counts open uploads' bytes; the count bounds how many a user can leave dangling.
        var usage = await _store.GetOpenUploadCountAsync(userId, cancellationToken).ConfigureAwait(false);
        return usage;
    }

    private UploadView View(UploadRecord upload, IReadOnlyList<UploadPartRecord> stored, string baseUrl)
    {
        var state = upload.State switch
        {
            UploadState.Completed => "completed",
            UploadState.Aborted => "aborted",
            _ => upload.ExpiresAt <= Now ? "expired" : "open",
        };
        var parts = new List<PartView>(upload.PartCount);
        var direct = _blobs.DirectPartUploads;
        if (state == "open")
        {
            var byNumber = stored.ToDictionary(p => p.PartNumber);
            var expiresAt = Math.Min(upload.ExpiresAt, Now + (long)_options.PartUrlLifetime.TotalMilliseconds);
            for (var n = 1; n <= upload.PartCount; n++)
            {
                parts.Add(byNumber.TryGetValue(n, out var p)
                    ? new PartView(n, p.Size, true, p.Sha256, null)
                    : new PartView(n, ExpectedPartSize(upload, n), false, null, direct
                        ? _blobs.GetDirectPartUploadUrl(ObjectKey(upload.ObjectId), upload.StoreUploadId, n, DateTimeOffset.FromUnixTimeMilliseconds(expiresAt))!.ToString()
                        : PartUrl(upload.UploadId, n, expiresAt, baseUrl)));
            }
        }

        return new UploadView(upload.UploadId, state, upload.Size, upload.PartSize, upload.PartCount, upload.ExpiresAt, parts,
            upload.State == UploadState.Completed ? upload.ObjectId : null, direct);
    }

    private string PartUrl(string uploadId, int partNumber, long expiresAt, string baseUrl) =>
        string.Create(CultureInfo.InvariantCulture, $"{baseUrl}/api/v1/uploads/{uploadId}/parts/{partNumber}?e={expiresAt}&s={_signer.Sign(PartPurpose, PartResource(uploadId, partNumber), expiresAt)}");

    private string DownloadUrl(string objectId, string fileName, string contentType, long expiresAt, string baseUrl)
    {
        var direct = _blobs.GetDirectDownloadUrl(ObjectKey(objectId), DateTimeOffset.FromUnixTimeMilliseconds(expiresAt), ServedContentType(contentType), ContentDisposition(fileName, contentType));
        return direct?.ToString()
            ?? string.Create(CultureInfo.InvariantCulture, $"{baseUrl}/media/{objectId}?e={expiresAt}&s={_signer.Sign(GetPurpose, objectId, expiresAt)}");
    }

    internal static string ServedContentType(string contentType) => Sniffer.IsInline(contentType) || contentType == "application/pdf" ? contentType : "application/octet-stream";

    /// <summary>inline for media a client renders, attachment otherwise; an ASCII fallback name and the UTF-8 name.</summary>
    internal static string ContentDisposition(string fileName, string contentType)
    {
        var safe = FileNames.Sanitize(fileName);
        var ascii = new string([.. safe.Select(c => c is >= ' ' and < (char)127 && c is not ('"' or '\\' or ';' or '%') ? c : '_')]);
        return $"{(Sniffer.IsInline(contentType) ? "inline" : "attachment")}; filename=\"{ascii}\"; filename*=UTF-8''{Uri.EscapeDataString(safe)}";
    }

    private static string PartResource(string uploadId, int partNumber) => string.Create(CultureInfo.InvariantCulture, $"{uploadId}/{partNumber}");

    private static long ExpectedPartSize(UploadRecord upload, int partNumber) =>
        partNumber < upload.PartCount ? upload.PartSize : upload.Size - ((long)(upload.PartCount - 1) * upload.PartSize);

    private static ObjectView ToView(MediaObjectRecord o, string? url, string? thumbnailUrl) => new(
        o.ObjectId, ObjectView.KindName(o.Kind), o.Size, o.ContentType, o.FileName, o.Sha256, o.Width, o.Height,
        o.ThumbnailId is { } t ? new ThumbnailView(t, o.ThumbnailWidth, o.ThumbnailHeight, thumbnailUrl) : null, url, null);

    private long Limit(MediaKind kind) => kind switch
    {
        MediaKind.Image => _options.MaxImageBytes,
        MediaKind.Voice => _options.MaxVoiceBytes,
        MediaKind.Video => _options.MaxVideoBytes,
        _ => _options.MaxFileBytes,
    };

    private static bool TryParseKind(string? name, out MediaKind kind)
    {
        kind = name switch
        {
            "image" => MediaKind.Image,
            "voice" => MediaKind.Voice,
            "video" => MediaKind.Video,
            "file" => MediaKind.File,
            _ => (MediaKind)(-1),
        };
        return (int)kind >= 0;
    }

    private static bool IsMd5Hex(string value) => value is { Length: 32 } && value.All(char.IsAsciiHexDigit);

    private static string NewId() => Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16));

    [LoggerMessage(EventId = 7001, Level = LogLevel.Information, Message = "Upload {UploadId} started by {UserId}: {Size} bytes in {PartCount} parts")]
    private static partial void LogUploadStarted(ILogger logger, string uploadId, string userId, long size, int partCount);

    [LoggerMessage(EventId = 7002, Level = LogLevel.Information, Message = "Upload {UploadId} completed as object {ObjectId} ({Kind}, {Size} bytes)")]
    private static partial void LogUploadCompleted(ILogger logger, string uploadId, string objectId, string kind, long size);

    [LoggerMessage(EventId = 7003, Level = LogLevel.Information, Message = "Upload {UploadId} refused: {Reason}")]
    private static partial void LogUploadRefused(ILogger logger, string uploadId, string reason);

    [LoggerMessage(EventId = 7006, Level = LogLevel.Warning, Message = "Upload {UploadId}: the object store refused {Count} part(s) at completion; their records were dropped for a resend")]
    private static partial void LogPartsRefusedByStore(ILogger logger, string uploadId, int count);

    [LoggerMessage(EventId = 7004, Level = LogLevel.Warning, Message = "No thumbnail for object {ObjectId}")]
    private static partial void LogThumbnailFailed(ILogger logger, Exception exception, string objectId);
}
