using System.ComponentModel.DataAnnotations;

namespace Parley.Media;

/// <summary>Media settings, bound to <c>Parley:Media</c>.</summary>
public sealed class MediaOptions
{
    public const string Section = "Parley:Media";

    /// <summary>Largest image upload in bytes (default 32 MiB).</summary>
    [Range(1, long.MaxValue)]
    public long MaxImageBytes { get; set; } = 32L * 1024 * 1024;

    /// <summary>Largest voice upload in bytes (default 32 MiB).</summary>
    [Range(1, long.MaxValue)]
    public long MaxVoiceBytes { get; set; } = 32L * 1024 * 1024;

    /// <summary>Largest video upload in bytes (default 1 GiB).</summary>
    [Range(1, long.MaxValue)]
    public long MaxVideoBytes { get; set; } = 1024L * 1024 * 1024;

    /// <summary>Largest file upload in bytes (default 2 GiB).</summary>
    [Range(1, long.MaxValue)]
    public long MaxFileBytes { get; set; } = 2048L * 1024 * 1024;

    /// <summary>Bytes one user may keep stored (objects plus open uploads; default 10 GiB).</summary>
    [Range(1, long.MaxValue)]
    public long QuotaBytesPerUser { get; set; } = 10L * 1024 * 1024 * 1024;

    /// <summary>Open (unfinished) uploads one user may have at a time.</summary>
    [Range(1, 10_000)]
    public int MaxOpenUploadsPerUser { get; set; } = 32;

    /// <summary>Default bytes per part when the client does not choose (5 MiB .. 64 MiB).</summary>
    [Range(5L * 1024 * 1024, 64L * 1024 * 1024)]
    public long DefaultPartSize { get; set; } = 8L * 1024 * 1024;

    /// <summary>An upload not completed within this time expires and its parts are deleted.</summary>
    [Range(typeof(TimeSpan), "00:01:00", "30.00:00:00")]
    public TimeSpan UploadLifetime { get; set; } = TimeSpan.FromHours(24);

    /// <summary>How long a signed part URL stays valid (a client asks for fresh ones to resume).</summary>
    [Range(typeof(TimeSpan), "00:00:10", "1.00:00:00")]
    public TimeSpan PartUrlLifetime { get; set; } = TimeSpan.FromHours(1);

    /// <summary>How long a signed download URL stays valid: a removed member's link stops after at most this.</summary>
    [Range(typeof(TimeSpan), "00:00:05", "1.00:00:00")]
    public TimeSpan DownloadUrlLifetime { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>An object no live message references is deleted this long after its upload.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "365.00:00:00")]
    public TimeSpan OrphanGracePeriod { get; set; } = TimeSpan.FromHours(24);

    /// <summary>How often the sweeper deletes expired uploads and orphaned objects.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "1.00:00:00")]
    public TimeSpan SweepInterval { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>Delete objects whose every referencing message was revoked (at the next sweep after the grace period).</summary>
    public bool DeleteOnRevoke { get; set; }

    /// <summary>Remove GPS/location EXIF data and XMP packets from uploaded JPEGs.</summary>
    public bool StripImageLocation { get; set; } = true;

    /// <summary>Images with more pixels than this are refused before decoding (decompression bombs).</summary>
    [Range(1, 1_000_000_000)]
    public long MaxImagePixels { get; set; } = 50_000_000;

    /// <summary>Longer side of generated thumbnails in pixels.</summary>
    [Range(32, 2048)]
    public int ThumbnailSize { get; set; } = 320;

    /// <summary>
    /// Base URL put in signed part and download URLs (e.g. <c>https://chat.example.com</c> behind a proxy); empty =
    /// the scheme and host of the request.
    /// </summary>
    public string PublicBaseUrl { get; set; } = string.Empty;

    /// <summary>Object storage: <c>FileSystem</c> (default, under the data directory) or <c>S3</c> (<c>Parley:Blobs:S3</c>).</summary>
    public string Store { get; set; } = "FileSystem";
}
