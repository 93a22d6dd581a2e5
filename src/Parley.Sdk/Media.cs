namespace Parley.Sdk;

/// <summary>What an upload is for; selects the server's size limit. The server decides the stored kind from the bytes.</summary>
public enum MediaKind
{
    /// <summary>Any file.</summary>
    File,

    /// <summary>A picture (JPEG, PNG, GIF, WebP, BMP).</summary>
    Image,

    /// <summary>A voice note or other audio.</summary>
    Voice,

    /// <summary>A video clip.</summary>
    Video,
}

/// <summary>A stored object, as the server measured it.</summary>
/// <param name="ObjectId">The id to put in message content.</param>
/// <param name="Kind"><c>image</c>, <c>voice</c>, <c>video</c> or <c>file</c>, sniffed from the bytes.</param>
/// <param name="Size">Bytes.</param>
/// <param name="ContentType">MIME type sniffed from the bytes.</param>
/// <param name="FileName">The sanitised file name.</param>
/// <param name="Sha256">SHA-256 of the stored bytes (lowercase hex).</param>
/// <param name="Width">Pixels (images).</param>
/// <param name="Height">Pixels (images).</param>
/// <param name="Thumbnail">The server-made thumbnail (images), if any.</param>
/// <param name="Url">A short-lived signed download URL (only from <see cref="ParleyClient.GetObjectAsync"/>).</param>
public sealed record MediaObject(string ObjectId, string Kind, long Size, string ContentType, string FileName, string Sha256, int Width, int Height, MediaThumbnail? Thumbnail, string? Url);

/// <summary>A thumbnail object.</summary>
/// <param name="ObjectId">Its object id.</param>
/// <param name="Width">Pixels.</param>
/// <param name="Height">Pixels.</param>
/// <param name="Url">A short-lived signed download URL, when the object was fetched with one.</param>
public sealed record MediaThumbnail(string ObjectId, int Width, int Height, string? Url);

/// <summary>Progress of an upload or download.</summary>
/// <param name="BytesTransferred">Bytes confirmed so far (stored parts, or bytes written).</param>
/// <param name="TotalBytes">Bytes in all.</param>
public readonly record struct MediaTransferProgress(long BytesTransferred, long TotalBytes);
