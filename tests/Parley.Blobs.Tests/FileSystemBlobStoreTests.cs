using Parley.Abstractions.Blobs;
using Parley.Blobs.FileSystem;

namespace Parley.Blobs.Tests;

public sealed class FileSystemBlobStoreTests : IDisposable
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), "parley-blobs-" + Guid.NewGuid().ToString("N"));
    private readonly FileSystemBlobStore _store;

    public FileSystemBlobStoreTests()
    {
        _store = new FileSystemBlobStore(new FileSystemBlobStoreOptions { RootDirectory = _root });
    }

    [Fact]
    public async Task FailedWrite_LeavesNoTempFileAndTheOldObject()
    {
        var key = BlobStoreComplianceTests.NewKey();
        await _store.PutAsync(key, new MemoryStream([1, 2, 3]), 3);
        await Assert.ThrowsAsync<BlobLengthMismatchException>(() => _store.PutAsync(key, new MemoryStream(new byte[10]), 20));

        Assert.Empty(Directory.EnumerateFiles(Path.Combine(_root, "tmp")));
        Assert.Equal(3, await _store.GetLengthAsync(key));
    }

    [Fact]
    public void Restart_RemovesTempFilesOfInterruptedWrites()
    {
        var leftover = Path.Combine(_root, "tmp", "crashed-write");
        File.WriteAllBytes(leftover, new byte[100]);

        _ = new FileSystemBlobStore(new FileSystemBlobStoreOptions { RootDirectory = _root });

        Assert.False(File.Exists(leftover));
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(_root, recursive: true);
        }
        catch (IOException)
        {
            // Best effort.
        }
    }
}
