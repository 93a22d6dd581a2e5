using System.ComponentModel.DataAnnotations;

namespace Parley.Blobs.S3;

/// <summary>S3-compatible storage settings, bound to <c>Parley:Blobs:S3</c>.</summary>
public sealed class S3BlobStoreOptions
{
    /// <summary>Endpoint, e.g. <c>https://s3.eu-central-1.amazonaws.com</c> or <c>http://minio:9000</c>.</summary>
    [Required]
    public string ServiceUrl { get; set; } = string.Empty;

    /// <summary>Signing region (any value for most S3-compatible servers).</summary>
    public string Region { get; set; } = "us-east-1";

    [Required]
    public string Bucket { get; set; } = string.Empty;

    [Required]
    public string AccessKey { get; set; } = string.Empty;

    [Required]
    public string SecretKey { get; set; } = string.Empty;

    /// <summary>Path-style addressing (<c>endpoint/bucket/key</c>); needed by MinIO and most self-hosted servers.</summary>
    public bool ForcePathStyle { get; set; } = true;

    /// <summary>Prefix put before every key (e.g. <c>parley/</c>), so several deployments can share a bucket.</summary>
    public string KeyPrefix { get; set; } = string.Empty;

    /// <summary>
    /// Hand clients presigned S3 GET URLs instead of streaming the bytes through Parley. Only when clients can reach
    /// the endpoint.
    /// </summary>
    public bool PresignedDownloads { get; set; }

    /// <summary>
    /// Hand clients presigned S3 UploadPart URLs, so part bytes go to the store directly instead of through Parley;
    /// each part is then confirmed to Parley with its ETag and SHA-256, and completion checks every part's SHA-256 and
    /// the size against the joined object (docs/media.md). Only when clients can reach the endpoint (browsers: the
    /// bucket's CORS must allow PUT from the app's origin and expose the <c>ETag</c> header).
    /// </summary>
    public bool PresignedUploads { get; set; }
}
