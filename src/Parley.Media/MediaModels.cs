using Parley.Abstractions.Media;

namespace Parley.Media;

/// <summary>An upload as the client sees it: parts stored, and signed URLs for the parts still missing.</summary>
/// <see cref="Direct"/>: the part URLs are the object store's (presigned S3): after each PUT the client confirms the part
/// with <c>POST /api/v1/uploads/{uploadId}/parts/{n}/confirm {etag, sha256}</c>.
public sealed record UploadView(string UploadId, string State, long Size, long PartSize, int PartCount, long ExpiresAt, IReadOnlyList<PartView> Parts, string? ObjectId, bool Direct = false);

/// <summary>A part: stored (with size and SHA-256) or missing (with a URL to PUT it to).</summary>
public sealed record PartView(int PartNumber, long Size, bool Stored, string? Sha256, string? Url);

/// <summary>An object as the client sees it; <see cref="Url"/> is a short-lived signed download URL when asked for.</summary>
public sealed record ObjectView(
    string ObjectId,
    string Kind,
    long Size,
    string ContentType,
    string FileName,
    string Sha256,
    int Width,
    int Height,
    ThumbnailView? Thumbnail,
    string? Url,
    long? ExpiresAt)
{
    internal static string KindName(MediaKind kind) => kind switch
    {
        MediaKind.Image => "image",
        MediaKind.Voice => "voice",
        MediaKind.Video => "video",
        _ => "file",
    };
}

public sealed record ThumbnailView(string ObjectId, int Width, int Height, string? Url);
