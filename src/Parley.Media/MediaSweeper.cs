using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Parley.Abstractions.Media;

namespace Parley.Media;

/// <summary>
/// Deletes expired and aborted uploads (parts and records) and objects that no live message references after the grace
/// period (with their thumbnails), on a timer.
/// </summary>
public sealed partial class MediaSweeper(MediaService media, IMediaStore store, TimeProvider time, ILogger<MediaSweeper> logger) : BackgroundService
{
    private const int Batch = 200;

    // A message that references an object but is not stored yet (the send is in flight) protects it this long.
    private static readonly TimeSpan PendingSend = TimeSpan.FromMinutes(10);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(media.Options.SweepInterval, time);
        while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false))
        {
            try
            {
                await SweepOnceAsync(stoppingToken).ConfigureAwait(false);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                LogSweepFailed(logger, e);
            }
        }
    }

    /// <summary>One pass; returns how many uploads and objects were deleted.</summary>
    public async Task<(int Uploads, int Objects)> SweepOnceAsync(CancellationToken cancellationToken = default)
    {
        var now = time.GetUtcNow();
        var uploads = 0;
        IReadOnlyList<UploadRecord> expired;
        do
        {
            expired = await store.GetExpiredUploadsAsync(now.ToUnixTimeMilliseconds(), Batch, cancellationToken).ConfigureAwait(false);
            foreach (var upload in expired)
            {
                var key = MediaService.ObjectKey(upload.ObjectId);
                await media.Blobs.AbortMultipartAsync(key, upload.StoreUploadId, cancellationToken).ConfigureAwait(false);

                // An object a crash left assembled but never recorded is not served (no record) and goes too.
                await media.Blobs.DeleteAsync(key, cancellationToken).ConfigureAwait(false);
                await store.DeleteUploadAsync(upload.UploadId, cancellationToken).ConfigureAwait(false);
                uploads++;
            }
        }
        while (expired.Count == Batch);

        var objects = 0;
        var graceStart = now - media.Options.OrphanGracePeriod;
        var pendingSince = (now - PendingSend).ToUnixTimeMilliseconds();
        var after = string.Empty;
        IReadOnlyList<MediaObjectRecord> page;
        do
        {
            page = await store.GetObjectsCreatedBeforeAsync(graceStart.ToUnixTimeMilliseconds(), after, Batch, cancellationToken).ConfigureAwait(false);
            foreach (var obj in page)
            {
                after = obj.ObjectId;
                var (live, revoked, pending) = await media.ReferenceStateAsync(obj.ObjectId, pendingSince, cancellationToken).ConfigureAwait(false);
                if (live || pending || (revoked && !media.Options.DeleteOnRevoke))
                {
                    continue;
                }

                // Record first: once it is gone nothing serves the bytes, so deleting them after cannot expose a torn object.
                await store.DeleteObjectAsync(obj.ObjectId, cancellationToken).ConfigureAwait(false);
                await media.Blobs.DeleteAsync(MediaService.ObjectKey(obj.ObjectId), cancellationToken).ConfigureAwait(false);
                if (obj.ThumbnailId is { } thumbnail)
                {
                    await media.Blobs.DeleteAsync(MediaService.ObjectKey(thumbnail), cancellationToken).ConfigureAwait(false);
                }

                objects++;
            }
        }
        while (page.Count == Batch);

        if (uploads + objects > 0)
        {
            LogSwept(logger, uploads, objects);
        }

        return (uploads, objects);
    }

    [LoggerMessage(EventId = 7010, Level = LogLevel.Information, Message = "Media sweep deleted {Uploads} expired uploads and {Objects} unreferenced objects")]
    private static partial void LogSwept(ILogger logger, int uploads, int objects);

    [LoggerMessage(EventId = 7011, Level = LogLevel.Error, Message = "Media sweep failed")]
    private static partial void LogSweepFailed(ILogger logger, Exception exception);
}
