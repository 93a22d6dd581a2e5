using System.Security.Cryptography;
using Parley.Abstractions.Blobs;

namespace Parley.Blobs.Tests;

/// <summary>
/// The blob store contract; every provider runs it: the filesystem store always, the S3 store against the S3 server
/// from PARLEY_TEST_S3_* (skipped only when that is absent outside CI).
/// </summary>
public sealed class BlobStoreComplianceTests : IDisposable
{
    private readonly BlobStoreProviders _providers = new();

    public void Dispose() => _providers.Dispose();

    internal static string NewKey(string prefix = "t") => $"{prefix}/{Guid.NewGuid():N}";

    private static byte[] RandomBytes(int length) => RandomNumberGenerator.GetBytes(length);

    private static async Task<byte[]?> ReadAllAsync(IBlobStore store, string key, long offset = 0, long? length = null)
    {
        var stream = await store.OpenReadAsync(key, offset, length);
        if (stream is null)
        {
            return null;
        }

        await using (stream)
        {
            using var copy = new MemoryStream();
            await stream.CopyToAsync(copy);
            return copy.ToArray();
        }
    }

    [Theory, FileSystemStore, S3Store]
    public async Task Put_ThenRead_ReturnsTheSameBytesAndLength(string provider)
    {
        var store = _providers.Open(provider);
        var key = NewKey();
        var bytes = RandomBytes(300_001);
        await store.PutAsync(key, new MemoryStream(bytes), bytes.Length);

        Assert.Equal(bytes.Length, await store.GetLengthAsync(key));
        Assert.Equal(bytes, await ReadAllAsync(store, key));
    }

    [Theory, FileSystemStore, S3Store]
    public async Task OpenRead_WithRange_ReturnsExactlyThatWindow(string provider)
    {
        var store = _providers.Open(provider);
        var key = NewKey();
        var bytes = RandomBytes(10_000);
        await store.PutAsync(key, new MemoryStream(bytes), bytes.Length);

        Assert.Equal(bytes[1000..1100], await ReadAllAsync(store, key, 1000, 100));
        Assert.Equal(bytes[9990..], await ReadAllAsync(store, key, 9990));
        Assert.Equal(bytes[9990..], await ReadAllAsync(store, key, 9990, 500));
    }

    [Theory, FileSystemStore, S3Store]
    public async Task Put_SameKeyTwice_ReplacesTheObject(string provider)
    {
        var store = _providers.Open(provider);
        var key = NewKey();
        await store.PutAsync(key, new MemoryStream(RandomBytes(5000)), 5000);
        var second = RandomBytes(123);
        await store.PutAsync(key, new MemoryStream(second), second.Length);

        Assert.Equal(second, await ReadAllAsync(store, key));
    }

    [Theory, FileSystemStore, S3Store]
    public async Task Put_ShorterThanDeclared_ThrowsAndStoresNothing(string provider)
    {
        var store = _providers.Open(provider);
        var key = NewKey();
        await Assert.ThrowsAsync<BlobLengthMismatchException>(() => store.PutAsync(key, new MemoryStream(RandomBytes(50)), 100));

        Assert.Null(await store.GetLengthAsync(key));
        Assert.Null(await ReadAllAsync(store, key));
    }

    [Theory, FileSystemStore, S3Store]
    public async Task MissingObject_ReadsAsNull_AndDeleteIsIdempotent(string provider)
    {
        var store = _providers.Open(provider);
        var key = NewKey();
        Assert.Null(await store.GetLengthAsync(key));
        Assert.Null(await store.OpenReadAsync(key));
        await store.DeleteAsync(key);

        await store.PutAsync(key, new MemoryStream(RandomBytes(10)), 10);
        await store.DeleteAsync(key);
        await store.DeleteAsync(key);
        Assert.Null(await store.GetLengthAsync(key));
    }

    [Theory, FileSystemStore, S3Store]
    public async Task Multipart_PartsInAnyOrderAndReplaced_CompleteJoinsThemInPartOrder(string provider)
    {
        var store = _providers.Open(provider);
        var key = NewKey("mp");
        var first = RandomBytes((int)IBlobStore.MinPartSize);
        var last = RandomBytes(777);
        var uploadId = await store.StartMultipartAsync(key);

        var p2 = await store.PutPartAsync(key, uploadId, 2, new MemoryStream(last), last.Length);
        await store.PutPartAsync(key, uploadId, 1, new MemoryStream(RandomBytes(first.Length)), first.Length);
        var p1 = await store.PutPartAsync(key, uploadId, 1, new MemoryStream(first), first.Length);
        Assert.Null(await store.GetLengthAsync(key));

        await store.CompleteMultipartAsync(key, uploadId, [p1, p2]);

        Assert.Equal(first.Length + last.Length, await store.GetLengthAsync(key));
        byte[] expected = [.. first, .. last];
        Assert.Equal(expected, await ReadAllAsync(store, key));

        // A retry of the completion (the caller crashed before recording it) succeeds and changes nothing.
        await store.CompleteMultipartAsync(key, uploadId, [p1, p2]);
        Assert.Equal(first.Length + last.Length, await store.GetLengthAsync(key));
    }

    // Filesystem only: s3rver, the S3 server CI runs, does not implement AbortMultipartUpload (the S3 store treats its
    // refusal as done); the media service refuses parts and completion of an aborted upload from its own records.
    [Theory, FileSystemStore]
    public async Task Multipart_Aborted_RefusesPartsAndCompletion(string provider)
    {
        var store = _providers.Open(provider);
        var key = NewKey("mp");
        var uploadId = await store.StartMultipartAsync(key);
        var part = await store.PutPartAsync(key, uploadId, 1, new MemoryStream(RandomBytes(100)), 100);
        await store.AbortMultipartAsync(key, uploadId);
        await store.AbortMultipartAsync(key, uploadId);

        await Assert.ThrowsAsync<BlobNotFoundException>(() => store.PutPartAsync(key, uploadId, 2, new MemoryStream(RandomBytes(10)), 10));
        await Assert.ThrowsAsync<BlobNotFoundException>(() => store.CompleteMultipartAsync(key, uploadId, [part]));
        Assert.Null(await store.GetLengthAsync(key));
    }

    [Theory, FileSystemStore, S3Store]
    public async Task InvalidKeys_AreRefused(string provider)
    {
        var store = _providers.Open(provider);
        foreach (var key in new[] { "../etc/passwd", "a//b", "/abs", "A/Upper", "a/.hidden", "" })
        {
            await Assert.ThrowsAsync<ArgumentException>(() => store.PutAsync(key, new MemoryStream([1]), 1));
            await Assert.ThrowsAsync<ArgumentException>(() => store.OpenReadAsync(key));
        }
    }
}
