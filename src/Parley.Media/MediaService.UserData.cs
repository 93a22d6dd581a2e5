using System.Runtime.CompilerServices;
using Parley.Abstractions.Media;

namespace Parley.Media;

// The per-user export and erasure (operator actions): the objects a user uploaded, their bytes, and their deletion.
public sealed partial class MediaService
{
    private const int OwnerScanBatch = 500;

    /// <summary>
    /// Every object (thumbnails excluded) that <paramref name="ownerId"/> uploaded. The store has no owner index (this
    /// runs only for an export or an erasure), so this walks the object table once, in pages.
    /// </summary>
    public async IAsyncEnumerable<MediaObjectRecord> ListOwnedObjectsAsync(string ownerId, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var after = string.Empty;
        IReadOnlyList<MediaObjectRecord> page;
        do
        {
            page = await _store.GetObjectsCreatedBeforeAsync(long.MaxValue, after, OwnerScanBatch, cancellationToken).ConfigureAwait(false);
            foreach (var obj in page)
            {
                after = obj.ObjectId;
                if (obj.OwnerId == ownerId && obj.ParentId is null)
                {
                    yield return obj;
                }
            }
        }
        while (page.Count == OwnerScanBatch);
    }

    /// <summary>The stored bytes of an object, or null when they are gone.</summary>
    public Task<Stream?> OpenObjectContentAsync(string objectId, CancellationToken cancellationToken = default) =>
        _blobs.OpenReadAsync(ObjectKey(objectId), 0, null, cancellationToken);

    /// <summary>Deletes an object and its thumbnail: the record first (nothing serves it from then on), then the bytes.</summary>
    public async Task DeleteObjectAsync(MediaObjectRecord obj, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(obj);
        await _store.DeleteObjectAsync(obj.ObjectId, cancellationToken).ConfigureAwait(false);
        await _blobs.DeleteAsync(ObjectKey(obj.ObjectId), cancellationToken).ConfigureAwait(false);
        if (obj.ThumbnailId is { } thumbnail)
        {
            await _store.DeleteObjectAsync(thumbnail, cancellationToken).ConfigureAwait(false);
            await _blobs.DeleteAsync(ObjectKey(thumbnail), cancellationToken).ConfigureAwait(false);
        }
    }
}
