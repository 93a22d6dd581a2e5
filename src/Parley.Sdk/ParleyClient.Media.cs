using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text.Json;
using Parley.Protocol.V1;

namespace Parley.Sdk;

public sealed partial class ParleyClient
{
    private static readonly JsonSerializerOptions MediaJson = new(JsonSerializerDefaults.Web);
    private HttpClient? _http;

    private HttpClient Http => LazyInitializer.EnsureInitialized(ref _http, () =>
    {
        var http = _options.HttpHandler is { } handler ? new HttpClient(handler, disposeHandler: false) : new HttpClient();
        http.BaseAddress = _options.HttpBaseUri ?? new UriBuilder(_options.ServerUri) { Scheme = _options.ServerUri.Scheme == "wss" ? "https" : "http", Path = "/" }.Uri;
        http.Timeout = Timeout.InfiniteTimeSpan;
        return http;
    });

    /// <summary>
    /// Uploads <paramref name="content"/> in checksummed parts (docs/media.md) and returns the stored object. A part that
    /// fails on the network is retried (fresh URLs are fetched) up to <see cref="ParleyClientOptions.MediaRetries"/> times,
    /// so a dropped connection resumes from the last stored part. To resume after a crash, pass the earlier upload's id
    /// (from <paramref name="uploadStarted"/>) as <paramref name="resumeUploadId"/> with the same content: only missing
    /// parts are sent.
    /// </summary>
    /// <param name="content">The bytes; must be seekable to resume, and is read from its current position for <paramref name="length"/> bytes.</param>
    /// <param name="length">Bytes to upload; default: the seekable stream's remaining length.</param>
    /// <param name="kind">Selects the size limit; the server decides the stored kind from the bytes.</param>
    /// <param name="fileName">Display name (the server keeps a safe last path segment).</param>
    /// <param name="contentType">Informational; the server sniffs the type.</param>
    /// <param name="progress">Receives bytes confirmed after each stored part.</param>
    /// <param name="resumeUploadId">Continue this earlier upload instead of starting one.</param>
    /// <param name="uploadStarted">Called with the upload id once known (store it to resume after a crash).</param>
    /// <param name="cancellationToken">Cancels the upload (stored parts stay; resume later or let it expire).</param>
    /// <exception cref="ParleyException">The server refused (quota, size, checksum, expired upload...).</exception>
    public async Task<MediaObject> UploadAsync(
        Stream content,
        MediaKind kind,
        string fileName,
        long? length = null,
        string? contentType = null,
        IProgress<MediaTransferProgress>? progress = null,
        string? resumeUploadId = null,
        Action<string>? uploadStarted = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(content);
        var start = content.CanSeek ? content.Position : 0;
        var total = length ?? (content.CanSeek ? content.Length - start : throw new ArgumentException("length is required for a stream that cannot seek.", nameof(length)));
        UploadState state;
        if (resumeUploadId is null)
        {
            state = await SendJsonAsync<UploadState>(HttpMethod.Post, "api/v1/uploads", new
            {
                kind = kind.ToString().ToLowerInvariant(),
                fileName,
                size = total,
                contentType,
            }, cancellationToken).ConfigureAwait(false);
        }
        else
        {
            state = await SendJsonAsync<UploadState>(HttpMethod.Get, $"api/v1/uploads/{resumeUploadId}", null, cancellationToken).ConfigureAwait(false);
        }

        uploadStarted?.Invoke(state.UploadId);
        var buffer = new byte[state.PartSize];
        var position = start;
        var attempts = 0;
        while (true)
        {
            while (true)
            {
                var missing = state.Parts.Where(p => !p.Stored).ToList();
                var done = state.Parts.Where(p => p.Stored).Sum(p => p.Size);
                progress?.Report(new MediaTransferProgress(done, total));
                if (missing.Count == 0)
                {
                    break;
                }

                try
                {
                    foreach (var part in missing)
                    {
                        var offset = (part.PartNumber - 1) * state.PartSize;
                        if (content.CanSeek)
                        {
                            content.Position = start + offset;
                        }
                        else if (position != start + offset)
                        {
                            throw new InvalidOperationException("Resuming an upload needs a seekable stream.");
                        }

                        await content.ReadExactlyAsync(buffer.AsMemory(0, (int)part.Size), cancellationToken).ConfigureAwait(false);
                        position = start + offset + part.Size;
                        var partHash = Convert.ToHexStringLower(SHA256.HashData(buffer.AsSpan(0, (int)part.Size)));
                        using var request = new HttpRequestMessage(HttpMethod.Put, part.Url) { Content = new ByteArrayContent(buffer, 0, (int)part.Size) };
                        if (!state.Direct)
                        {
                            request.Headers.Add("X-Parley-Sha256", partHash);
                        }

                        using var response = await Http.SendAsync(request, cancellationToken).ConfigureAwait(false);
                        await EnsureMediaSuccessAsync(response, cancellationToken).ConfigureAwait(false);
                        if (state.Direct)
                        {
                            // The URL was the object store's (presigned S3): tell the server the part's ETag and SHA-256.
                            var etag = response.Headers.ETag?.Tag ?? (response.Headers.TryGetValues("ETag", out var values) ? values.FirstOrDefault() : null);
                            await SendJsonAsync<PartState>(HttpMethod.Post, $"api/v1/uploads/{state.UploadId}/parts/{part.PartNumber}/confirm", new { etag, sha256 = partHash }, cancellationToken).ConfigureAwait(false);
                        }
                        done += part.Size;
                        progress?.Report(new MediaTransferProgress(done, total));
                    }

                    break;
                }
                catch (Exception e) when (IsTransient(e, cancellationToken) && ++attempts <= _options.MediaRetries)
                {
                    await Task.Delay(TimeSpan.FromMilliseconds(100 * attempts), _time, cancellationToken).ConfigureAwait(false);
                    state = await SendJsonAsync<UploadState>(HttpMethod.Get, $"api/v1/uploads/{state.UploadId}", null, cancellationToken).ConfigureAwait(false);
                }
            }

            var sha = content.CanSeek ? await HashRangeAsync(content, start, total, cancellationToken).ConfigureAwait(false) : null;
            try
            {
                var completed = await SendJsonAsync<ObjectBody>(HttpMethod.Post, $"api/v1/uploads/{state.UploadId}/complete", new { sha256 = sha }, cancellationToken).ConfigureAwait(false);
                return completed.ToObject();
            }
            catch (ParleyException e) when (e.Code == ErrorCode.Conflict && content.CanSeek && ++attempts <= _options.MediaRetries)
            {
                // The object store refused some parts (a direct part S3 does not hold with the confirmed ETag): the server
                // forgot them, so the upload's state lists them as missing; send those again and complete.
                state = await SendJsonAsync<UploadState>(HttpMethod.Get, $"api/v1/uploads/{state.UploadId}", null, cancellationToken).ConfigureAwait(false);
            }
        }
    }

    /// <summary>Looks an object up with a fresh short-lived download URL (members of a conversation that references it, and its owner).</summary>
    /// <exception cref="ParleyException"><see cref="ErrorCode.NotFound"/> when it does not exist or the caller may not read it.</exception>
    public async Task<MediaObject> GetObjectAsync(string objectId, CancellationToken cancellationToken = default) =>
        (await SendJsonAsync<ObjectBody>(HttpMethod.Get, $"api/v1/objects/{Uri.EscapeDataString(objectId)}", null, cancellationToken).ConfigureAwait(false)).ToObject();

    /// <summary>
    /// Downloads an object into <paramref name="destination"/>, resuming with range requests after network failures
    /// (fresh URLs are fetched when one expires), and checks the bytes' SHA-256.
    /// </summary>
    /// <param name="objectId">The object (an original or a thumbnail).</param>
    /// <param name="destination">Where the bytes go (written sequentially).</param>
    /// <param name="progress">Receives bytes written.</param>
    /// <param name="cancellationToken">Cancels the download.</param>
    /// <returns>The object's description.</returns>
    /// <exception cref="ParleyException">Not found or not allowed, or the bytes did not match the object's SHA-256.</exception>
    public async Task<MediaObject> DownloadAsync(string objectId, Stream destination, IProgress<MediaTransferProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(destination);
        var obj = await GetObjectAsync(objectId, cancellationToken).ConfigureAwait(false);
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        long written = 0;
        var attempts = 0;
        var buffer = new byte[81920];
        while (written < obj.Size)
        {
            try
            {
                using var request = new HttpRequestMessage(HttpMethod.Get, obj.Url);
                if (written > 0)
                {
                    request.Headers.Range = new RangeHeaderValue(written, null);
                }

                using var response = await Http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken).ConfigureAwait(false);
                if (response.StatusCode == HttpStatusCode.Forbidden)
                {
                    obj = await GetObjectAsync(objectId, cancellationToken).ConfigureAwait(false);
                    if (++attempts > _options.MediaRetries)
                    {
                        await EnsureMediaSuccessAsync(response, cancellationToken).ConfigureAwait(false);
                    }

                    continue;
                }

                await EnsureMediaSuccessAsync(response, cancellationToken).ConfigureAwait(false);
                if (written > 0 && response.StatusCode != HttpStatusCode.PartialContent)
                {
                    throw new ParleyException(ErrorCode.Internal, "The server ignored the range of a resumed download.");
                }

                var body = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
                await using (body.ConfigureAwait(false))
                {
                    int read;
                    while ((read = await body.ReadAsync(buffer, cancellationToken).ConfigureAwait(false)) > 0)
                    {
                        await destination.WriteAsync(buffer.AsMemory(0, read), cancellationToken).ConfigureAwait(false);
                        hash.AppendData(buffer, 0, read);
                        written += read;
                        progress?.Report(new MediaTransferProgress(written, obj.Size));
                    }
                }
            }
            catch (Exception e) when (IsTransient(e, cancellationToken) && ++attempts <= _options.MediaRetries)
            {
                await Task.Delay(TimeSpan.FromMilliseconds(100 * attempts), _time, cancellationToken).ConfigureAwait(false);
            }
        }

        if (!string.Equals(Convert.ToHexStringLower(hash.GetHashAndReset()), obj.Sha256, StringComparison.Ordinal))
        {
            throw new ParleyException(ErrorCode.Internal, $"The downloaded bytes of {objectId} do not match its SHA-256.");
        }

        return obj;
    }

    /// <summary>Uploads an image and sends it (the server fills dimensions and the thumbnail).</summary>
    /// <inheritdoc cref="SendAsync" path="/exception"/>
    public async Task<SendReceipt> SendImageAsync(Target target, Stream image, string fileName, string? caption = null, IProgress<MediaTransferProgress>? progress = null, string? clientMsgId = null, CancellationToken cancellationToken = default)
    {
        var obj = await UploadAsync(image, MediaKind.Image, fileName, progress: progress, cancellationToken: cancellationToken).ConfigureAwait(false);
        return await SendAsync(target, new Content { Image = new ImageContent { ObjectId = obj.ObjectId, Caption = caption ?? string.Empty } }, clientMsgId, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Uploads a file and sends it.</summary>
    /// <inheritdoc cref="SendAsync" path="/exception"/>
    public async Task<SendReceipt> SendFileAsync(Target target, Stream file, string fileName, IProgress<MediaTransferProgress>? progress = null, string? clientMsgId = null, CancellationToken cancellationToken = default)
    {
        var obj = await UploadAsync(file, MediaKind.File, fileName, progress: progress, cancellationToken: cancellationToken).ConfigureAwait(false);
        return await SendAsync(target, new Content { File = new FileContent { ObjectId = obj.ObjectId, FileName = obj.FileName } }, clientMsgId, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Uploads a voice note and sends it.</summary>
    /// <inheritdoc cref="SendAsync" path="/exception"/>
    public async Task<SendReceipt> SendVoiceAsync(Target target, Stream audio, string fileName, TimeSpan duration, IProgress<MediaTransferProgress>? progress = null, string? clientMsgId = null, CancellationToken cancellationToken = default)
    {
        var obj = await UploadAsync(audio, MediaKind.Voice, fileName, progress: progress, cancellationToken: cancellationToken).ConfigureAwait(false);
        return await SendAsync(target, new Content { Voice = new VoiceContent { ObjectId = obj.ObjectId, DurationMs = (uint)duration.TotalMilliseconds } }, clientMsgId, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Uploads a video (and its poster image, first) and sends one video message. The server does not decode video: the
    /// duration and dimensions are the client's measurements, and the poster is a still the client made (a frame it
    /// decoded, or any image); the server checks that the poster is an image and fills its dimensions. Progress covers the
    /// poster's and the video's bytes together.
    /// </summary>
    /// <param name="target">The recipient or conversation.</param>
    /// <param name="video">The video bytes (seekable to resume after a network failure).</param>
    /// <param name="fileName">Display name of the video.</param>
    /// <param name="duration">Length as measured by the client (at most 24 hours).</param>
    /// <param name="width">Width in pixels (0 when unknown).</param>
    /// <param name="height">Height in pixels (0 when unknown).</param>
    /// <param name="poster">Optional still image shown before playback.</param>
    /// <param name="progress">Receives bytes confirmed over the poster and the video.</param>
    /// <param name="clientMsgId">Idempotency key of the send (generated when null).</param>
    /// <param name="cancellationToken">Cancels the uploads and the send.</param>
    /// <exception cref="ParleyException"><see cref="ErrorCode.BadRequest"/> when the poster's bytes are not an image (nothing is sent), or as <see cref="SendAsync"/>.</exception>
    public async Task<SendReceipt> SendVideoAsync(Target target, Stream video, string fileName, TimeSpan duration, int width = 0, int height = 0, Stream? poster = null, IProgress<MediaTransferProgress>? progress = null, string? clientMsgId = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(video);
        ArgumentOutOfRangeException.ThrowIfNegative(width);
        ArgumentOutOfRangeException.ThrowIfNegative(height);
        if (duration < TimeSpan.Zero || duration > TimeSpan.FromHours(24))
        {
            throw new ArgumentOutOfRangeException(nameof(duration), duration, "A video's duration is 0 .. 24 hours.");
        }

        long RemainingLength(Stream s) => s.CanSeek ? s.Length - s.Position : 0;
        var posterLength = poster is null ? 0 : RemainingLength(poster);
        var total = posterLength + RemainingLength(video);
        MediaObject? posterObject = null;
        if (poster is not null)
        {
            posterObject = await UploadAsync(poster, MediaKind.Image, "poster.jpg", progress: progress is null ? null : new Relay(progress, 0, total), cancellationToken: cancellationToken).ConfigureAwait(false);
            if (posterObject.Kind != "image")
            {
                throw new ParleyException(ErrorCode.BadRequest, $"The poster is not an image (its bytes are {posterObject.ContentType}).");
            }
        }

        var obj = await UploadAsync(video, MediaKind.Video, fileName, progress: progress is null ? null : new Relay(progress, posterLength, total), cancellationToken: cancellationToken).ConfigureAwait(false);
        return await SendAsync(target, new Content
        {
            Video = new VideoContent
            {
                ObjectId = obj.ObjectId,
                DurationMs = (uint)Math.Round(duration.TotalMilliseconds),
                Width = (uint)width,
                Height = (uint)height,
                PosterObjectId = posterObject?.ObjectId ?? string.Empty,
            },
        }, clientMsgId, cancellationToken).ConfigureAwait(false);
    }

    // Reports one upload's progress as a share of several (offset by the bytes before it).
    private sealed class Relay(IProgress<MediaTransferProgress> inner, long offset, long total) : IProgress<MediaTransferProgress>
    {
        public void Report(MediaTransferProgress value) =>
            inner.Report(new MediaTransferProgress(offset + value.BytesTransferred, total > 0 ? total : offset + value.TotalBytes));
    }

    private static bool IsTransient(Exception e, CancellationToken cancellationToken) =>
        !cancellationToken.IsCancellationRequested
        && (e is HttpRequestException or IOException || (e is ParleyException p && p.Code is ErrorCode.Unavailable or ErrorCode.Forbidden) || e is TaskCanceledException);

    private static async Task<string> HashRangeAsync(Stream content, long start, long length, CancellationToken cancellationToken)
    {
        content.Position = start;
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var buffer = new byte[81920];
        var remaining = length;
        while (remaining > 0)
        {
            var read = await content.ReadAsync(buffer.AsMemory(0, (int)Math.Min(buffer.Length, remaining)), cancellationToken).ConfigureAwait(false);
            if (read == 0)
            {
                throw new EndOfStreamException("The content ended before its declared length.");
            }

            hash.AppendData(buffer, 0, read);
            remaining -= read;
        }

        return Convert.ToHexStringLower(hash.GetHashAndReset());
    }

    private async Task<T> SendJsonAsync<T>(HttpMethod method, string path, object? body, CancellationToken cancellationToken)
    {
        var started = _time.GetTimestamp();
        while (true)
        {
            using var request = new HttpRequestMessage(method, path);

            // Only API calls carry the token; signed part and download URLs (possibly S3's) must not.
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", _options.Token);
            if (body is not null)
            {
                request.Content = JsonContent.Create(body, options: MediaJson);
            }

            using var response = await Http.SendAsync(request, cancellationToken).ConfigureAwait(false);
            try
            {
                await EnsureMediaSuccessAsync(response, cancellationToken).ConfigureAwait(false);
            }
            catch (ParleyException e) when (RateLimitWait(e, started, _options.RequestTimeout) is { } wait)
            {
                // 429 with Retry-After: nothing was done; ask again once the server's budget allows it.
                await Task.Delay(wait, _time, cancellationToken).ConfigureAwait(false);
                continue;
            }

            return (await response.Content.ReadFromJsonAsync<T>(MediaJson, cancellationToken).ConfigureAwait(false))!;
        }
    }

    private static async Task EnsureMediaSuccessAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        if (response.IsSuccessStatusCode)
        {
            return;
        }

        ErrorBody? error = null;
        try
        {
            error = await response.Content.ReadFromJsonAsync<ErrorBody>(MediaJson, cancellationToken).ConfigureAwait(false);
        }
        catch (JsonException)
        {
            // Not a Parley error body (a proxy's page): the status says enough.
        }

        var code = error?.Error?.Code is { } name && Enum.TryParse<ErrorCode>(name.Replace("_", string.Empty, StringComparison.Ordinal), ignoreCase: true, out var parsed)
            ? parsed
            : response.StatusCode switch
            {
                HttpStatusCode.NotFound => ErrorCode.NotFound,
                HttpStatusCode.Forbidden => ErrorCode.Forbidden,
                HttpStatusCode.Unauthorized => ErrorCode.Unauthenticated,
                HttpStatusCode.RequestEntityTooLarge => ErrorCode.TooLarge,
                HttpStatusCode.TooManyRequests => ErrorCode.RateLimited,
                >= HttpStatusCode.InternalServerError => ErrorCode.Unavailable,
                _ => ErrorCode.BadRequest,
            };
        // Only a temporary refusal carries a retry-after (a quota such as "too many open uploads" does not).
        TimeSpan? retryAfter = error?.Error?.RetryAfterMs is > 0 and var ms ? TimeSpan.FromMilliseconds(ms)
            : response.Headers.RetryAfter?.Delta is { } delta && code == ErrorCode.RateLimited ? delta : null;
        throw new ParleyException(code, error?.Error?.Message ?? $"HTTP {(int)response.StatusCode}", retryAfter);
    }

    private sealed record UploadState(string UploadId, string State, long Size, long PartSize, int PartCount, List<PartState> Parts, bool Direct = false);

    private sealed record PartState(int PartNumber, long Size, bool Stored, string? Sha256, string? Url);

    private sealed record ObjectBody(string ObjectId, string Kind, long Size, string ContentType, string FileName, string Sha256, int Width, int Height, ThumbnailBody? Thumbnail, string? Url)
    {
        public MediaObject ToObject() => new(ObjectId, Kind, Size, ContentType, FileName, Sha256, Width, Height,
            Thumbnail is null ? null : new MediaThumbnail(Thumbnail.ObjectId, Thumbnail.Width, Thumbnail.Height, Thumbnail.Url), Url);
    }

    private sealed record ThumbnailBody(string ObjectId, int Width, int Height, string? Url);

    private sealed record ErrorBody(ErrorDetail? Error);

    private sealed record ErrorDetail(string? Code, string? Message, long? RetryAfterMs);
}
