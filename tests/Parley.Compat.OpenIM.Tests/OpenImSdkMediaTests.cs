using System.Security.Cryptography;
using System.Text.Json;

namespace Parley.Compat.OpenIM.Tests;

/// <summary>
/// Media through the real <c>@openim/client-sdk@0.0.14</c>: <c>createXxxMessageByFile</c> + <c>sendMessage</c> upload over
/// OpenIM's <c>/object/*</c> calls (part_size, initiate_multipart_upload, PUTs to the signed part URLs,
/// complete_multipart_upload) and send a PictureElem / FileElem / SoundElem / VideoElem; the recipient's SDK receives it
/// and the recipient downloads the bytes with its token, while anyone else is refused.
/// </summary>
public sealed class OpenImSdkMediaTests(ServerFixture fixture) : IClassFixture<ServerFixture>, IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("parley-openim-media-").FullName;

    private OpenImTestServer Server => fixture.Server;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    private Task<NodeSdkClient> SdkAsync(string userId) => NodeSdkClient.LoggedInAsync(Server, userId);

    private string Write(string name, byte[] bytes)
    {
        var path = Path.Combine(_directory, Guid.NewGuid().ToString("N") + "-" + name);
        File.WriteAllBytes(path, bytes);
        return path;
    }

    private static string Sha256(byte[] bytes) => Convert.ToHexStringLower(SHA256.HashData(bytes));

    private static Task<JsonElement> ReceivedAsync(NodeSdkClient sdk, int contentType) =>
        sdk.WaitAsync(
            r => r.GetProperty("kind").GetString() == "event"
                && r.GetProperty("event").GetString() is "OnRecvNewMessage" or "OnRecvNewMessages"
                && Messages(r).Any(m => m.GetProperty("contentType").GetInt32() == contentType),
            $"{sdk.UserId}'s SDK received a message of content type {contentType}")
        .ContinueWith(t => Messages(t.Result).First(m => m.GetProperty("contentType").GetInt32() == contentType), TaskScheduler.Default);

    private static IEnumerable<JsonElement> Messages(JsonElement record)
    {
        var data = record.GetProperty("data");
        return data.ValueKind == JsonValueKind.Array ? data.EnumerateArray() : [data];
    }

    private static async Task<JsonElement> DownloadAsync(NodeSdkClient sdk, string url, bool noToken = false) =>
        await sdk.OkAsync("download", new { url, noToken });

    [Fact]
    public async Task SdkMedia_ImageSentByFile_RecipientDownloadsTheBytesAndTheThumbnail_OthersAreRefused()
    {
        var alice = OpenImUsers.NewId("ma");
        var bob = OpenImUsers.NewId("mb");
        var mallory = OpenImUsers.NewId("mm");
        await OpenImUsers.RegisterAsync(Server, alice, bob, mallory);
        await using var a = await SdkAsync(alice);
        await using var b = await SdkAsync(bob);
        await using var m = await SdkAsync(mallory);

        var jpeg = MediaFiles.Jpeg(640, 480);
        var sent = await a.OkAsync("sendMedia", new { kind = "image", recvID = bob, path = Write("beach.jpg", jpeg), name = "beach.jpg", contentType = "image/jpeg", width = 640, height = 480 }, TimeSpan.FromSeconds(60));
        Assert.Equal(102, sent.GetProperty("contentType").GetInt32());
        var sentUrl = sent.GetProperty("pictureElem").GetProperty("sourcePicture").GetProperty("url").GetString()!;
        Assert.StartsWith(Server.BaseUri.GetLeftPart(UriPartial.Authority) + "/object/", sentUrl, StringComparison.Ordinal);
        foreach (var path in new[] { "/object/part_size", "/object/initiate_multipart_upload", "/object/complete_multipart_upload" })
        {
            Assert.Contains(a.Records, r => r.GetProperty("kind").GetString() == "http" && r.GetProperty("path").GetString() == path && r.GetProperty("status").GetInt32() == 200);
        }

        // Bob's SDK gets a PictureElem naming the same object, with the server's measurements and a thumbnail.
        var received = await ReceivedAsync(b, 102);
        var picture = received.GetProperty("pictureElem");
        var url = picture.GetProperty("sourcePicture").GetProperty("url").GetString()!;
        Assert.Equal(sentUrl, url);
        Assert.Equal(640, picture.GetProperty("sourcePicture").GetProperty("width").GetInt32());
        Assert.Equal(480, picture.GetProperty("sourcePicture").GetProperty("height").GetInt32());
        var snapshot = picture.GetProperty("snapshotPicture");
        Assert.NotEqual(url, snapshot.GetProperty("url").GetString());
        Assert.Equal(320, snapshot.GetProperty("width").GetInt32());

        var original = await DownloadAsync(b, url);
        Assert.Equal(200, original.GetProperty("status").GetInt32());
        Assert.True(original.GetProperty("redirected").GetBoolean());
        Assert.Equal(Sha256(jpeg), original.GetProperty("sha256").GetString());
        Assert.Equal("image/jpeg", original.GetProperty("contentType").GetString());
        var thumbnail = await DownloadAsync(b, snapshot.GetProperty("url").GetString()!);
        Assert.Equal(200, thumbnail.GetProperty("status").GetInt32());
        Assert.InRange(thumbnail.GetProperty("length").GetInt32(), 100, jpeg.Length - 1);

        // The sender's own snapshot URL form (url?type=image&width=640&height=640) serves the thumbnail too.
        var senderSnapshot = await DownloadAsync(a, sent.GetProperty("pictureElem").GetProperty("snapshotPicture").GetProperty("url").GetString()!);
        Assert.Equal(thumbnail.GetProperty("sha256").GetString(), senderSnapshot.GetProperty("sha256").GetString());

        // Someone outside the conversation, and anyone without a token, gets nothing.
        Assert.Equal(404, (await DownloadAsync(m, url)).GetProperty("status").GetInt32());
        Assert.Equal(401, (await DownloadAsync(b, url, noToken: true)).GetProperty("status").GetInt32());
        var access = await Server.PostAsync("/object/access_url", new { name = url }, await OpenImUsers.TokenAsync(Server, mallory));
        Assert.Equal(OpenImErrors.RecordNotFound, access.GetProperty("errCode").GetInt32());
        access = await Server.PostAsync("/object/access_url", new { name = url }, await OpenImUsers.TokenAsync(Server, bob));
        Assert.Equal(0, access.GetProperty("errCode").GetInt32());
        Assert.Contains("/media/", access.GetProperty("data").GetProperty("url").GetString(), StringComparison.Ordinal);

        // History (1005 pulls) shows the picture with the same URL.
        var history = await b.OkAsync("history", new { conversationID = OpenImUsers.Direct(alice, bob) });
        var pulled = history.GetProperty("messageList").EnumerateArray().Single(x => x.GetProperty("contentType").GetInt32() == 102);
        Assert.Equal(url, pulled.GetProperty("pictureElem").GetProperty("sourcePicture").GetProperty("url").GetString());
        Assert.Empty(a.MissingEndpoints());
        Assert.Empty(b.MissingEndpoints());
    }

    [Fact]
    public async Task SdkMedia_FileVoiceAndVideoWithPoster_RoundTripToTheRecipient()
    {
        var alice = OpenImUsers.NewId("fa");
        var bob = OpenImUsers.NewId("fb");
        await OpenImUsers.RegisterAsync(Server, alice, bob);
        await using var a = await SdkAsync(alice);
        await using var b = await SdkAsync(bob);

        var report = RandomNumberGenerator.GetBytes(300_000);
        await a.OkAsync("sendMedia", new { kind = "file", recvID = bob, path = Write("report.bin", report), name = "report.bin", contentType = "application/octet-stream" }, TimeSpan.FromSeconds(60));
        var file = (await ReceivedAsync(b, 105)).GetProperty("fileElem");
        Assert.Equal("report.bin", file.GetProperty("fileName").GetString());
        Assert.Equal(report.Length, file.GetProperty("fileSize").GetInt32());
        var fileDownload = await DownloadAsync(b, file.GetProperty("sourceUrl").GetString()!);
        Assert.Equal(Sha256(report), fileDownload.GetProperty("sha256").GetString());

        var wav = MediaFiles.Wav();
        await a.OkAsync("sendMedia", new { kind = "sound", recvID = bob, path = Write("note.wav", wav), name = "note.wav", contentType = "audio/wav", duration = 3 }, TimeSpan.FromSeconds(60));
        var sound = (await ReceivedAsync(b, 103)).GetProperty("soundElem");
        Assert.Equal(3, sound.GetProperty("duration").GetInt32());
        Assert.Equal(Sha256(wav), (await DownloadAsync(b, sound.GetProperty("sourceUrl").GetString()!)).GetProperty("sha256").GetString());

        var mp4 = MediaFiles.Mp4();
        var poster = MediaFiles.Jpeg(160, 90);
        await a.OkAsync("sendMedia", new { kind = "video", recvID = bob, path = Write("clip.mp4", mp4), name = "clip.mp4", contentType = "video/mp4", duration = 5, posterPath = Write("poster.jpg", poster) }, TimeSpan.FromSeconds(60));
        var video = (await ReceivedAsync(b, 104)).GetProperty("videoElem");
        Assert.Equal(5, video.GetProperty("duration").GetInt32());
        Assert.Equal(160, video.GetProperty("snapshotWidth").GetInt32());
        Assert.Equal(Sha256(mp4), (await DownloadAsync(b, video.GetProperty("videoUrl").GetString()!)).GetProperty("sha256").GetString());
        Assert.Equal(Sha256(poster), (await DownloadAsync(b, video.GetProperty("snapshotUrl").GetString()!)).GetProperty("sha256").GetString());
    }
}

/// <summary>
/// The real <c>@openim/client-sdk</c> against the S3 store with presigned uploads (<c>Parley:Blobs:S3:PresignedUploads</c>):
/// initiate_multipart_upload hands out S3's presigned UploadPart URLs (as OpenIM's own server does), the SDK PUTs every part
/// to the store, and completion joins the parts with the SDK's MD5s and checks each against the stored bytes.
/// </summary>
public sealed class OpenImSdkMediaS3Tests : IAsyncLifetime
{
    private readonly string _directory = Directory.CreateTempSubdirectory("parley-openim-media-s3-").FullName;
    private OpenImTestServer? _server;

    public async Task InitializeAsync()
    {
        if (S3FactAttribute.ServerSettings() is { } settings)
        {
            settings["Parley:Blobs:S3:PresignedUploads"] = "true";
            _server = await OpenImTestServer.StartAsync(settings);
        }
    }

    public async Task DisposeAsync()
    {
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }

        Directory.Delete(_directory, recursive: true);
    }

    private OpenImTestServer Server => _server ?? throw new InvalidOperationException("PARLEY_TEST_S3_ENDPOINT is not set: run .ci/setup.d/30-s3rver.sh (CI=true requires it).");

    [S3Fact]
    public async Task SdkMedia_PartsGoToS3PresignedUrls_RecipientDownloadsTheSameBytes()
    {
        var alice = OpenImUsers.NewId("sa");
        var bob = OpenImUsers.NewId("sb");
        await OpenImUsers.RegisterAsync(Server, alice, bob);
        await using var a = await NodeSdkClient.LoggedInAsync(Server, alice);
        await using var b = await NodeSdkClient.LoggedInAsync(Server, bob);
        var s3Host = new Uri(Environment.GetEnvironmentVariable("PARLEY_TEST_S3_ENDPOINT")!).Authority;

        // 9 MiB + a bit: two parts at the default 8 MiB part size.
        var report = RandomNumberGenerator.GetBytes((9 * 1024 * 1024) + 123);
        var path = Path.Combine(_directory, "report.bin");
        await File.WriteAllBytesAsync(path, report);
        await a.OkAsync("sendMedia", new { kind = "file", recvID = bob, path, name = "report.bin", contentType = "application/octet-stream" }, TimeSpan.FromSeconds(90));
        var puts = a.Records.Where(r => r.GetProperty("kind").GetString() == "http" && r.GetProperty("method").GetString() == "PUT").ToList();
        Assert.Equal(2, puts.Count);
        Assert.All(puts, p => Assert.Equal((s3Host, 200), (p.GetProperty("host").GetString(), p.GetProperty("status").GetInt32())));

        var file = (await b.WaitAsync(
            r => r.GetProperty("kind").GetString() == "event" && r.GetProperty("event").GetString() is "OnRecvNewMessage" or "OnRecvNewMessages"
                && r.GetRawText().Contains("\"contentType\":105", StringComparison.Ordinal),
            "bob's SDK received the file")).GetRawText();
        using var document = JsonDocument.Parse(file);
        var data = document.RootElement.GetProperty("data");
        var message = data.ValueKind == JsonValueKind.Array ? data.EnumerateArray().First(m => m.GetProperty("contentType").GetInt32() == 105) : data;
        var download = await b.OkAsync("download", new { url = message.GetProperty("fileElem").GetProperty("sourceUrl").GetString(), noToken = false });
        Assert.Equal(200, download.GetProperty("status").GetInt32());
        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(report)), download.GetProperty("sha256").GetString());

        // An image: one part, straight to S3; the server still measures it and makes the thumbnail from the stored bytes.
        var jpeg = MediaFiles.Jpeg(640, 480);
        var imagePath = Path.Combine(_directory, "beach.jpg");
        await File.WriteAllBytesAsync(imagePath, jpeg);
        var sent = await a.OkAsync("sendMedia", new { kind = "image", recvID = bob, path = imagePath, name = "beach.jpg", contentType = "image/jpeg", width = 640, height = 480 }, TimeSpan.FromSeconds(60));
        Assert.Equal(3, a.Records.Count(r => r.GetProperty("kind").GetString() == "http" && r.GetProperty("method").GetString() == "PUT" && r.GetProperty("host").GetString() == s3Host));
        Assert.Equal(102, sent.GetProperty("contentType").GetInt32());
        var picture = await b.WaitAsync(
            r => r.GetProperty("kind").GetString() == "event" && r.GetProperty("event").GetString() is "OnRecvNewMessage" or "OnRecvNewMessages"
                && r.GetRawText().Contains("\"contentType\":102", StringComparison.Ordinal),
            "bob's SDK received the picture");
        Assert.Contains("\"width\":320", picture.GetRawText(), StringComparison.Ordinal); // the server's thumbnail, made from the bytes in S3
        Assert.Empty(a.MissingEndpoints());
    }
}
