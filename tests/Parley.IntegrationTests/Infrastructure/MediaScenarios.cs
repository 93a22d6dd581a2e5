using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text.RegularExpressions;
using Parley.Protocol.V1;
using Parley.Sdk;
using MediaKind = Parley.Sdk.MediaKind;

namespace Parley.IntegrationTests.Infrastructure;

/// <summary>Media round trips shared by the filesystem and S3 test classes.</summary>
public static partial class MediaScenarios
{
    public static async Task ImageRoundTripAsync(TestServer server)
    {
        var alice = await server.CreateUserAsync("alice");
        var bob = await server.CreateUserAsync("bob");
        var aliceClient = await server.ConnectAsync(alice);
        var bob1 = new Recorder(await server.CreateClientAsync(bob));
        await bob1.Client.ConnectAsync();

        var original = MediaFiles.Jpeg(1600, 1200, withGps: true);
        Assert.True(Contains(original, MediaFiles.GpsMarker));
        var progress = new List<MediaTransferProgress>();
        var receipt = await aliceClient.SendImageAsync(new Target { UserId = bob }, new MemoryStream(original), "holiday.jpg", "the beach", new SyncProgress(progress));
        Assert.Equal(original.Length, progress[^1].BytesTransferred);

        await bob1.WaitForMessagesAsync(receipt.ConversationId, 1);
        var image = bob1.MessagesIn(receipt.ConversationId).Single().Content.Image;
        Assert.Equal((1600u, 1200u), (image.Width, image.Height));
        Assert.Equal("image/jpeg", image.ContentType);
        Assert.Equal("the beach", image.Caption);
        Assert.Equal((320u, 240u), (image.ThumbnailWidth, image.ThumbnailHeight));
        Assert.NotEmpty(image.ThumbnailObjectId);

        // The receiver downloads the original (location gone, picture intact) and the thumbnail.
        using var received = new MemoryStream();
        var obj = await bob1.Client.DownloadAsync(image.ObjectId, received);
        Assert.Equal((long)image.Size, received.Length);
        Assert.False(Contains(received.ToArray(), MediaFiles.GpsMarker), "the GPS data must be stripped");
        using (var decoded = SkiaSharp.SKBitmap.Decode(received.ToArray()))
        {
            Assert.Equal((1600, 1200), (decoded.Width, decoded.Height));
        }

        Assert.Equal(image.ThumbnailObjectId, obj.Thumbnail?.ObjectId);
        using var thumbnail = new MemoryStream();
        await bob1.Client.DownloadAsync(image.ThumbnailObjectId, thumbnail);
        using (var decoded = SkiaSharp.SKBitmap.Decode(thumbnail.ToArray()))
        {
            Assert.Equal((320, 240), (decoded.Width, decoded.Height));
        }
    }

    public static async Task OtherKindsRoundTripAsync(TestServer server)
    {
        var alice = await server.CreateUserAsync("alice");
        var bob = await server.CreateUserAsync("bob");
        var aliceClient = await server.ConnectAsync(alice);
        var target = new Target { UserId = bob };

        var wav = MediaFiles.Wav();
        var voice = await aliceClient.SendVoiceAsync(target, new MemoryStream(wav), "note.wav", TimeSpan.FromSeconds(1));
        var mp4 = MediaFiles.Mp4();
        var posterJpeg = MediaFiles.Jpeg(160, 90);
        var videoProgress = new List<MediaTransferProgress>();
        await aliceClient.SendVideoAsync(target, new MemoryStream(mp4), "clip.mp4", TimeSpan.FromSeconds(4), 1280, 720, new MemoryStream(posterJpeg), new SyncProgress(videoProgress));
        Assert.Equal(new MediaTransferProgress(posterJpeg.Length + mp4.Length, posterJpeg.Length + mp4.Length), videoProgress[^1]);
        Assert.Contains(videoProgress, p => p.BytesTransferred == posterJpeg.Length);

        // A poster whose bytes are not an image is refused before anything is sent.
        var notAnImage = await Assert.ThrowsAsync<ParleyException>(() => aliceClient.SendVideoAsync(target, new MemoryStream(mp4), "clip.mp4", TimeSpan.FromSeconds(4), poster: new MemoryStream(wav)));
        Assert.Equal(ErrorCode.BadRequest, notAnImage.Code);
        var pdf = "%PDF-1.4\n%fake but sniffable\n"u8.ToArray();
        await aliceClient.SendFileAsync(target, new MemoryStream(pdf), "report.pdf");
        var location = await aliceClient.SendAsync(target, new Content { Location = new LocationContent { Latitude = 52.52, Longitude = 13.405, Name = "Berlin" } });
        await aliceClient.SendAsync(target, new Content { Text = new TextContent { Text = "nice" }, ReplyTo = new ReplyTo { Seq = location.Seq } });

        var bobClient = await server.ConnectAsync(bob);
        var messages = (await bobClient.GetHistoryAsync(voice.ConversationId)).Messages;
        Assert.Equal(5, messages.Count);
        Assert.Equal(("audio/wav", (ulong)wav.Length, 1000u), (messages[0].Content.Voice.ContentType, messages[0].Content.Voice.Size, messages[0].Content.Voice.DurationMs));
        Assert.Equal(("video/mp4", 160u, 90u), (messages[1].Content.Video.ContentType, messages[1].Content.Video.PosterWidth, messages[1].Content.Video.PosterHeight));
        Assert.Equal((4000u, 1280u, 720u, (ulong)mp4.Length), (messages[1].Content.Video.DurationMs, messages[1].Content.Video.Width, messages[1].Content.Video.Height, messages[1].Content.Video.Size));
        Assert.Equal(("report.pdf", "application/pdf"), (messages[2].Content.File.FileName, messages[2].Content.File.ContentType));
        Assert.Equal("Berlin", messages[3].Content.Location.Name);
        Assert.Equal(location.Seq, messages[4].Content.ReplyTo.Seq);

        foreach (var (objectId, bytes) in new[] { (messages[0].Content.Voice.ObjectId, wav), (messages[1].Content.Video.ObjectId, mp4), (messages[1].Content.Video.PosterObjectId, posterJpeg), (messages[2].Content.File.ObjectId, pdf) })
        {
            using var copy = new MemoryStream();
            await bobClient.DownloadAsync(objectId, copy);
            if (bytes is not null)
            {
                Assert.Equal(bytes, copy.ToArray());
            }
        }
    }

    /// <summary>
    /// A large file in 5 MiB parts: the connection drops in the middle of part 3 (the client resumes with the missing
    /// parts only), and the download drops half-way (resumed with a range request); SHA-256 matches end to end.
    /// </summary>
    public static async Task LargeFileResumesAsync(TestServer server, long size)
    {
        var alice = await server.CreateUserAsync("alice");
        var bob = await server.CreateUserAsync("bob");
        var faults = new FaultHandler();
        var aliceClient = new ParleyClient(new ParleyClientOptions
        {
            ServerUri = server.WebSocketUri,
            Token = await server.IssueTokenAsync(alice, "d1"),
            DeviceId = "d1",
            HttpHandler = faults,
        });
        await using var _ = aliceClient;
        await aliceClient.ConnectAsync();

        var bytes = RandomNumberGenerator.GetBytes((int)size);
        faults.CutUploadOfPart = 3;
        var obj = await aliceClient.UploadAsync(new MemoryStream(bytes), MediaKind.File, "big.bin", length: null);
        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(bytes)), obj.Sha256);
        Assert.Equal(2, faults.PartPuts[3]);
        Assert.All(faults.PartPuts.Where(p => p.Key != 3), p => Assert.Equal(1, p.Value));
        await aliceClient.SendAsync(new Target { UserId = bob }, new Content { File = new FileContent { ObjectId = obj.ObjectId } });

        var bobFaults = new FaultHandler { CutDownloadAfter = size / 2 };
        var bobClient = new ParleyClient(new ParleyClientOptions
        {
            ServerUri = server.WebSocketUri,
            Token = await server.IssueTokenAsync(bob, "d1"),
            DeviceId = "d1",
            HttpHandler = bobFaults,
        });
        await using var __ = bobClient;
        using var received = new MemoryStream();
        await bobClient.DownloadAsync(obj.ObjectId, received);
        Assert.Equal(SHA256.HashData(bytes), SHA256.HashData(received.ToArray()));
        Assert.Equal(2, bobFaults.Downloads);
        Assert.Equal(1, bobFaults.RangedDownloads);
    }

    private static bool Contains(byte[] haystack, byte[] needle) => haystack.AsSpan().IndexOf(needle) >= 0;

    // Parley's part URLs (/parts/{n}) and S3's presigned UploadPart URLs (?partNumber={n}).
    [GeneratedRegex("(?:/parts/|[?&]partNumber=)(\\d+)")]
    private static partial Regex PartNumber();

    /// <summary>Records progress synchronously (Progress&lt;T&gt; would post to the thread pool).</summary>
    private sealed class SyncProgress(List<MediaTransferProgress> list) : IProgress<MediaTransferProgress>
    {
        public void Report(MediaTransferProgress value)
        {
            lock (list)
            {
                list.Add(value);
            }
        }
    }

    /// <summary>Cuts one part upload in the middle of its body, or one download in the middle of its body, once.</summary>
    private sealed class FaultHandler : DelegatingHandler
    {
        public FaultHandler()
            : base(new SocketsHttpHandler())
        {
        }

        public int CutUploadOfPart { get; set; }

        public long CutDownloadAfter { get; set; }

        public ConcurrentDictionary<int, int> PartPuts { get; } = new();

        public int Downloads { get; private set; }

        public int RangedDownloads { get; private set; }

        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            if (request.Method == HttpMethod.Put && PartNumber().Match(request.RequestUri!.AbsolutePath + request.RequestUri.Query) is { Success: true } m)
            {
                var part = int.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
                if (PartPuts.AddOrUpdate(part, 1, (_, n) => n + 1) == 1 && part == CutUploadOfPart)
                {
                    var body = await request.Content!.ReadAsByteArrayAsync(cancellationToken);
                    var cut = new StreamContent(new BreakingStream(new MemoryStream(body), body.Length / 2));
                    cut.Headers.ContentLength = body.Length;
                    foreach (var header in request.Content.Headers.Where(h => h.Key != "Content-Length"))
                    {
                        cut.Headers.TryAddWithoutValidation(header.Key, header.Value);
                    }

                    request.Content = cut;
                }
            }

            var response = await base.SendAsync(request, cancellationToken);
            if (request.Method == HttpMethod.Get && request.RequestUri!.AbsolutePath.StartsWith("/media/", StringComparison.Ordinal))
            {
                Downloads++;
                if (request.Headers.Range is not null)
                {
                    RangedDownloads++;
                }
                else if (CutDownloadAfter > 0)
                {
                    var original = response.Content;
                    var cut = new StreamContent(new BreakingStream(await original.ReadAsStreamAsync(cancellationToken), CutDownloadAfter));
                    foreach (var header in original.Headers)
                    {
                        cut.Headers.TryAddWithoutValidation(header.Key, header.Value);
                    }

                    response.Content = cut;
                }
            }

            return response;
        }
    }

    /// <summary>Reads through, then fails with an IOException after <c>limit</c> bytes, like a dropped connection.</summary>
    private sealed class BreakingStream(Stream inner, long limit) : Stream
    {
        private long _read;

        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => throw new NotSupportedException();

        public override long Position
        {
            get => _read;
            set => throw new NotSupportedException();
        }

        public override int Read(byte[] buffer, int offset, int count)
        {
            if (_read >= limit)
            {
                throw new IOException("The connection was reset (injected by the test).");
            }

            var n = inner.Read(buffer, offset, (int)Math.Min(count, limit - _read));
            _read += n;
            return n;
        }

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            if (_read >= limit)
            {
                throw new IOException("The connection was reset (injected by the test).");
            }

            var n = await inner.ReadAsync(buffer[..(int)Math.Min(buffer.Length, limit - _read)], cancellationToken);
            _read += n;
            return n;
        }

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                inner.Dispose();
            }

            base.Dispose(disposing);
        }
    }
}
