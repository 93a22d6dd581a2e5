using System.Net;
using Amazon.Runtime;
using Amazon.S3;
using Amazon.S3.Model;
using Parley.Abstractions.Blobs;

namespace Parley.Blobs.S3;

/// <summary>
/// Blob store on S3-compatible storage. Objects are written with one PUT (atomic in S3) or a native multipart upload.
/// The client is configured so that request bodies are sent as plain bytes (no aws-chunked framing, no trailing
/// checksums): some S3-compatible servers store that framing inside the object and report success.
/// </summary>
public sealed class S3BlobStore : IBlobStore, IDisposable
{
    private readonly S3BlobStoreOptions _options;
    private readonly AmazonS3Client _client;

    public S3BlobStore(S3BlobStoreOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (string.IsNullOrWhiteSpace(options.ServiceUrl) || string.IsNullOrWhiteSpace(options.Bucket))
        {
            throw new ArgumentException("S3BlobStoreOptions.ServiceUrl and Bucket are required.", nameof(options));
        }

        if (options.KeyPrefix.Length > 0 && !BlobKeys.IsValid(options.KeyPrefix.TrimEnd('/')))
        {
            throw new ArgumentException("S3BlobStoreOptions.KeyPrefix must be a valid key followed by '/'.", nameof(options));
        }

        _options = options;
        var config = new AmazonS3Config
        {
            ServiceURL = options.ServiceUrl,
            AuthenticationRegion = options.Region,
            ForcePathStyle = options.ForcePathStyle,
            RequestChecksumCalculation = RequestChecksumCalculation.WHEN_REQUIRED,
            ResponseChecksumValidation = ResponseChecksumValidation.WHEN_REQUIRED,
            UseHttp = options.ServiceUrl.StartsWith("http://", StringComparison.OrdinalIgnoreCase),
        };
        _client = new AmazonS3Client(new BasicAWSCredentials(options.AccessKey, options.SecretKey), config);
    }

    public async Task PutAsync(string key, Stream content, long length, CancellationToken cancellationToken = default)
    {
        BlobKeys.Validate(key);
        ArgumentNullException.ThrowIfNull(content);
        var body = await SpoolAsync(content, length, cancellationToken).ConfigureAwait(false);
        await using (body.ConfigureAwait(false))
        {
            var request = new PutObjectRequest
            {
                BucketName = _options.Bucket,
                Key = FullKey(key),
                InputStream = body,
                AutoCloseStream = false,
                UseChunkEncoding = false,
                ContentType = "application/octet-stream",
            };
            await _client.PutObjectAsync(request, cancellationToken).ConfigureAwait(false);
        }
    }

    public async Task<long?> GetLengthAsync(string key, CancellationToken cancellationToken = default)
    {
        BlobKeys.Validate(key);
        try
        {
            var metadata = await _client.GetObjectMetadataAsync(_options.Bucket, FullKey(key), cancellationToken).ConfigureAwait(false);
            return metadata.ContentLength;
        }
        catch (AmazonS3Exception e) when (e.StatusCode == HttpStatusCode.NotFound)
        {
            return null;
        }
    }

    public async Task<Stream?> OpenReadAsync(string key, long offset = 0, long? length = null, CancellationToken cancellationToken = default)
    {
        BlobKeys.Validate(key);
        ArgumentOutOfRangeException.ThrowIfNegative(offset);
        if (length == 0)
        {
            return await GetLengthAsync(key, cancellationToken).ConfigureAwait(false) is null ? null : Stream.Null;
        }

        var request = new GetObjectRequest { BucketName = _options.Bucket, Key = FullKey(key) };
        if (offset > 0 || length is not null)
        {
            request.ByteRange = length is { } l ? new ByteRange(offset, offset + l - 1) : new ByteRange($"bytes={offset}-");
        }

        try
        {
            var response = await _client.GetObjectAsync(request, cancellationToken).ConfigureAwait(false);
            return response.ResponseStream;
        }
        catch (AmazonS3Exception e) when (e.StatusCode == HttpStatusCode.NotFound)
        {
            return null;
        }
        catch (AmazonS3Exception e) when (e.StatusCode == HttpStatusCode.RequestedRangeNotSatisfiable)
        {
            return Stream.Null;
        }
    }

    public async Task DeleteAsync(string key, CancellationToken cancellationToken = default)
    {
        BlobKeys.Validate(key);
        try
        {
            await _client.DeleteObjectAsync(_options.Bucket, FullKey(key), cancellationToken).ConfigureAwait(false);
        }
        catch (AmazonS3Exception e) when (e.StatusCode == HttpStatusCode.NotFound)
        {
            // Already gone.
        }
    }

    public async Task<string> StartMultipartAsync(string key, CancellationToken cancellationToken = default)
    {
        BlobKeys.Validate(key);
        var response = await _client.InitiateMultipartUploadAsync(
            new InitiateMultipartUploadRequest { BucketName = _options.Bucket, Key = FullKey(key), ContentType = "application/octet-stream" },
            cancellationToken).ConfigureAwait(false);
        return response.UploadId;
    }

    public async Task<BlobPart> PutPartAsync(string key, string uploadId, int partNumber, Stream content, long length, CancellationToken cancellationToken = default)
    {
        BlobKeys.Validate(key);
        ArgumentNullException.ThrowIfNull(content);
        ArgumentOutOfRangeException.ThrowIfLessThan(partNumber, 1);
        var body = await SpoolAsync(content, length, cancellationToken).ConfigureAwait(false);
        await using var _ = body.ConfigureAwait(false);
        var request = new UploadPartRequest
        {
            BucketName = _options.Bucket,
            Key = FullKey(key),
            UploadId = uploadId,
            PartNumber = partNumber,
            InputStream = body,
            PartSize = length,
            UseChunkEncoding = false,
        };
        try
        {
            var response = await _client.UploadPartAsync(request, cancellationToken).ConfigureAwait(false);
            return new BlobPart(partNumber, length, response.ETag);
        }
        catch (AmazonS3Exception e) when (e.ErrorCode is "NoSuchUpload" || e.StatusCode == HttpStatusCode.NotFound)
        {
            throw new BlobNotFoundException("No such multipart upload.", e);
        }
    }

    public async Task CompleteMultipartAsync(string key, string uploadId, IReadOnlyList<BlobPart> parts, CancellationToken cancellationToken = default)
    {
        BlobKeys.Validate(key);
        ArgumentNullException.ThrowIfNull(parts);
        var request = new CompleteMultipartUploadRequest { BucketName = _options.Bucket, Key = FullKey(key), UploadId = uploadId };
        request.PartETags = [.. parts.Select(p => new PartETag(p.PartNumber, p.ETag))];
        try
        {
            await _client.CompleteMultipartUploadAsync(request, cancellationToken).ConfigureAwait(false);
        }
        catch (AmazonS3Exception e) when (e.ErrorCode is not ("InvalidPart" or "InvalidPartOrder"))
        {
            // A retry after a crash between S3's completion and ours: the upload is gone (servers answer NoSuchUpload,
            // or an internal error) and the object is there with the parts' total length.
            if (await GetLengthAsync(key, cancellationToken).ConfigureAwait(false) != parts.Sum(p => p.Length))
            {
                throw e.ErrorCode is "NoSuchUpload" || e.StatusCode == HttpStatusCode.NotFound
                    ? new BlobNotFoundException("No such multipart upload.", e)
                    : e;
            }
        }
        catch (AmazonS3Exception e) when (e.ErrorCode is "InvalidPart" or "InvalidPartOrder")
        {
            throw new BlobPartsRejectedException("The store refused a part's ETag.", await RefusedPartsAsync(key, uploadId, parts, cancellationToken).ConfigureAwait(false), e);
        }
    }

    // Which of the given parts S3 does not hold with that ETag (ListParts), or null when the store cannot list them.
    private async Task<IReadOnlyList<int>?> RefusedPartsAsync(string key, string uploadId, IReadOnlyList<BlobPart> parts, CancellationToken cancellationToken)
    {
        var held = new Dictionary<int, string>();
        try
        {
            var request = new ListPartsRequest { BucketName = _options.Bucket, Key = FullKey(key), UploadId = uploadId };
            while (true)
            {
                var page = await _client.ListPartsAsync(request, cancellationToken).ConfigureAwait(false);
                foreach (var part in page.Parts ?? [])
                {
                    held[Convert.ToInt32(part.PartNumber, System.Globalization.CultureInfo.InvariantCulture)] = part.ETag.Trim('"');
                }

                var next = Convert.ToString(page.NextPartNumberMarker, System.Globalization.CultureInfo.InvariantCulture);
                if (page.IsTruncated != true || string.IsNullOrEmpty(next) || next == "0")
                {
                    break;
                }

                request.PartNumberMarker = next;
            }
        }
        catch (AmazonS3Exception)
        {
            return null;
        }

        return [.. parts.Where(p => !held.TryGetValue(p.PartNumber, out var etag) || !string.Equals(etag, p.ETag.Trim('"'), StringComparison.OrdinalIgnoreCase)).Select(p => p.PartNumber)];
    }

    public async Task AbortMultipartAsync(string key, string uploadId, CancellationToken cancellationToken = default)
    {
        BlobKeys.Validate(key);
        try
        {
            await _client.AbortMultipartUploadAsync(_options.Bucket, FullKey(key), uploadId, cancellationToken).ConfigureAwait(false);
        }
        catch (AmazonS3Exception e) when (e.ErrorCode is "NoSuchUpload" or "MethodNotAllowed" or "NotImplemented" || e.StatusCode == HttpStatusCode.NotFound)
        {
            // Already gone, or a server without AbortMultipartUpload (s3rver): its parts stay until the server's own
            // clean-up; the media service refuses further parts and completion from its own records either way.
        }
    }

    public bool DirectPartUploads => _options.PresignedUploads;

    public Uri? GetDirectPartUploadUrl(string key, string uploadId, int partNumber, DateTimeOffset expiresAt)
    {
        BlobKeys.Validate(key);
        ArgumentOutOfRangeException.ThrowIfLessThan(partNumber, 1);
        if (!_options.PresignedUploads)
        {
            return null;
        }

        var request = new GetPreSignedUrlRequest
        {
            BucketName = _options.Bucket,
            Key = FullKey(key),
            Verb = HttpVerb.PUT,
            Expires = expiresAt.UtcDateTime,
            Protocol = _options.ServiceUrl.StartsWith("http://", StringComparison.OrdinalIgnoreCase) ? Protocol.HTTP : Protocol.HTTPS,
            UploadId = uploadId,
            PartNumber = partNumber,
        };
        return new Uri(_client.GetPreSignedURL(request));
    }

    public Uri? GetDirectDownloadUrl(string key, DateTimeOffset expiresAt, string contentType, string contentDisposition)
    {
        BlobKeys.Validate(key);
        if (!_options.PresignedDownloads)
        {
            return null;
        }

        var request = new GetPreSignedUrlRequest
        {
            BucketName = _options.Bucket,
            Key = FullKey(key),
            Verb = HttpVerb.GET,
            Expires = expiresAt.UtcDateTime,
            Protocol = _options.ServiceUrl.StartsWith("http://", StringComparison.OrdinalIgnoreCase) ? Protocol.HTTP : Protocol.HTTPS,
        };
        request.ResponseHeaderOverrides.ContentType = contentType;
        request.ResponseHeaderOverrides.ContentDisposition = contentDisposition;
        request.ResponseHeaderOverrides.CacheControl = "private, immutable";
        return new Uri(_client.GetPreSignedURL(request));
    }

    public void Dispose() => _client.Dispose();

    private string FullKey(string key) => _options.KeyPrefix + key;

    // The SDK signs a body it can seek (and rewind for retries) as plain bytes; a forward-only stream would be sent
    // with aws-chunked framing, which some S3-compatible servers store inside the object. So the bytes are spooled to
    // a temp file first, which also checks the declared length before anything is sent.
    private static async Task<FileStream> SpoolAsync(Stream content, long length, CancellationToken cancellationToken)
    {
        var spool = new FileStream(Path.GetTempFileName(), FileMode.Create, FileAccess.ReadWrite, FileShare.None, 81920, FileOptions.Asynchronous | FileOptions.DeleteOnClose);
        try
        {
            var buffer = new byte[81920];
            long total = 0;
            int read;
            while ((read = await content.ReadAsync(buffer, cancellationToken).ConfigureAwait(false)) > 0)
            {
                total += read;
                if (total > length)
                {
                    throw new BlobLengthMismatchException($"The content is longer than the declared {length} bytes.");
                }

                await spool.WriteAsync(buffer.AsMemory(0, read), cancellationToken).ConfigureAwait(false);
            }

            if (total != length)
            {
                throw new BlobLengthMismatchException($"The content has {total} bytes, not the declared {length}.");
            }

            spool.Position = 0;
            return spool;
        }
        catch
        {
            await spool.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }
}
