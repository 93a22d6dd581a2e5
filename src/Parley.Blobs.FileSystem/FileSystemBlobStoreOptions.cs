namespace Parley.Blobs.FileSystem;

/// <summary>Where the filesystem blob store keeps its files.</summary>
public sealed class FileSystemBlobStoreOptions
{
    /// <summary>Root directory (created when missing); objects go to <c>objects/</c>, multipart parts to <c>multipart/</c>, temp files to <c>tmp/</c>.</summary>
    public string RootDirectory { get; set; } = string.Empty;
}
