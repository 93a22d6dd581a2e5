using Parley.Abstractions.Media;

namespace Parley.Storage.Compliance;

/// <summary>The behaviour every <see cref="IMediaStore"/> provider must show; SQLite and PostgreSQL run it unchanged.</summary>
public abstract class MediaStoreComplianceTests : IAsyncLifetime
{
    protected IMediaStore Store { get; private set; } = null!;

    /// <summary>A media store over this test's new, empty storage.</summary>
    protected abstract IMediaStore CreateStore();

    public virtual async Task InitializeAsync()
    {
        Store = CreateStore();
        await Store.InitializeAsync();
    }

    public virtual Task DisposeAsync() => Task.CompletedTask;

    protected static UploadRecord Upload(string id, string user, long size, long expiresAt = 10_000) =>
        new(id, user, MediaKind.Image, "a.png", "image/png", size, 5, (int)((size + 4) / 5), "obj-" + id, "store-" + id, UploadState.Open, 100, expiresAt);

    protected static MediaObjectRecord MediaObject(string id, string owner, long size, string? parent = null, long createdAt = 200) =>
        new(id, owner, MediaKind.Image, size, "image/png", "a.png", "sha-" + id, 640, 480, parent is null ? "thumb-" + id : null, 32, 24, parent, createdAt);

    [StoreFact]
    public async Task DeleteParts_ForgetsOnlyTheNamedPartsOfThatUpload()
    {
        await Store.CreateUploadAsync(Upload("d1", "alice", 15));
        await Store.CreateUploadAsync(Upload("d2", "alice", 15));
        foreach (var n in new[] { 1, 2, 3 })
        {
            await Store.SavePartAsync(new UploadPartRecord("d1", n, 5, "s" + n, "e" + n));
            await Store.SavePartAsync(new UploadPartRecord("d2", n, 5, "s" + n, "e" + n));
        }

        await Store.DeletePartsAsync("d1", [2, 3, 9]);
        await Store.DeletePartsAsync("d1", []);
        Assert.Equal([new UploadPartRecord("d1", 1, 5, "s1", "e1")], await Store.GetPartsAsync("d1"));
        Assert.Equal(3, (await Store.GetPartsAsync("d2")).Count);
        Assert.Equal(UploadState.Open, (await Store.GetUploadAsync("d1"))!.State);
    }

    [StoreFact]
    public async Task Upload_PartsCompleteOnce_ObjectAndThumbnailStored_PartsGone()
    {
        await Store.CreateUploadAsync(Upload("u1", "alice", 12));
        Assert.Equal(Upload("u1", "alice", 12), await Store.GetUploadAsync("u1"));
        Assert.Null(await Store.GetUploadAsync("nope"));
        await Store.SavePartAsync(new UploadPartRecord("u1", 2, 5, "s2", "e2"));
        await Store.SavePartAsync(new UploadPartRecord("u1", 1, 5, "old", "e0"));
        await Store.SavePartAsync(new UploadPartRecord("u1", 1, 5, "s1", "e1")); // a part sent again replaces the first
        Assert.Equal([new UploadPartRecord("u1", 1, 5, "s1", "e1"), new UploadPartRecord("u1", 2, 5, "s2", "e2")], await Store.GetPartsAsync("u1"));
        Assert.Equal(12, await Store.GetUsageAsync("alice"));
        Assert.Equal(1, await Store.GetOpenUploadCountAsync("alice"));

        var obj = MediaObject("obj-u1", "alice", 12);
        var thumb = MediaObject("thumb-obj-u1", "alice", 3, parent: "obj-u1");
        Assert.True(await Store.CompleteUploadAsync("u1", obj, thumb));
        Assert.False(await Store.CompleteUploadAsync("u1", obj, thumb));
        Assert.False(await Store.AbortUploadAsync("u1"));
        Assert.Equal(UploadState.Completed, (await Store.GetUploadAsync("u1"))!.State);
        Assert.Empty(await Store.GetPartsAsync("u1"));
        Assert.Equal(obj, await Store.GetObjectAsync("obj-u1"));
        Assert.Equal(thumb, await Store.GetObjectAsync("thumb-obj-u1"));
        Assert.Equal(15, await Store.GetUsageAsync("alice")); // objects only: the completed upload no longer counts
        Assert.Equal(0, await Store.GetOpenUploadCountAsync("alice"));
        Assert.Equal(0, await Store.GetUsageAsync("bob"));
    }

    [StoreFact]
    public async Task Uploads_ExpiredAndAbortedAreSwept_DeleteRemovesParts()
    {
        await Store.CreateUploadAsync(Upload("old", "alice", 5, expiresAt: 1000));
        await Store.CreateUploadAsync(Upload("fresh", "alice", 5, expiresAt: 9000));
        await Store.CreateUploadAsync(Upload("gone", "bob", 5, expiresAt: 9500));
        Assert.True(await Store.AbortUploadAsync("gone"));
        Assert.False(await Store.AbortUploadAsync("gone"));
        await Store.SavePartAsync(new UploadPartRecord("old", 1, 5, "s", "e"));

        Assert.Equal(["old", "gone"], (await Store.GetExpiredUploadsAsync(2000, 10)).Select(u => u.UploadId));
        Assert.Equal(["old"], (await Store.GetExpiredUploadsAsync(2000, 1)).Select(u => u.UploadId));
        await Store.DeleteUploadAsync("old");
        Assert.Null(await Store.GetUploadAsync("old"));
        Assert.Empty(await Store.GetPartsAsync("old"));
        Assert.Equal(["gone"], (await Store.GetExpiredUploadsAsync(2000, 10)).Select(u => u.UploadId));
    }

    [StoreFact]
    public async Task References_AddedOnce_SweepPagesOriginals_DeleteTakesThumbnailAndReferences()
    {
        foreach (var (upload, created) in new[] { ("a", 100L), ("b", 200L), ("c", 300L) })
        {
            await Store.CreateUploadAsync(Upload(upload, "alice", 5));
            Assert.True(await Store.CompleteUploadAsync(upload, MediaObject("obj-" + upload, "alice", 5, createdAt: created), MediaObject("thumb-obj-" + upload, "alice", 1, "obj-" + upload, created)));
        }

        var reference = new MediaReference("obj-a", "c1", "alice", "m1", 500);
        await Store.AddReferenceAsync(reference);
        await Store.AddReferenceAsync(reference with { CreatedAt = 600 }); // the same message again: ignored
        await Store.AddReferenceAsync(new MediaReference("obj-a", "c2", "alice", "m1", 700));
        Assert.Equal(2, (await Store.GetReferencesAsync("obj-a")).Count);
        Assert.Contains(reference, await Store.GetReferencesAsync("obj-a"));

        // Originals only (thumbnails go with their original), created before the horizon, paged by id.
        Assert.Equal(["obj-a", "obj-b"], (await Store.GetObjectsCreatedBeforeAsync(250, "", 10)).Select(o => o.ObjectId));
        Assert.Equal(["obj-b"], (await Store.GetObjectsCreatedBeforeAsync(250, "obj-a", 10)).Select(o => o.ObjectId));
        Assert.Equal(["obj-a"], (await Store.GetObjectsCreatedBeforeAsync(1000, "", 1)).Select(o => o.ObjectId));

        await Store.DeleteObjectAsync("obj-a");
        Assert.Null(await Store.GetObjectAsync("obj-a"));
        Assert.Null(await Store.GetObjectAsync("thumb-obj-a"));
        Assert.Empty(await Store.GetReferencesAsync("obj-a"));
        Assert.NotNull(await Store.GetObjectAsync("obj-b"));
        Assert.Equal(12, await Store.GetUsageAsync("alice"));
    }
}
