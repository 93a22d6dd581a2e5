using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Parley.IntegrationTests.Infrastructure;
using Parley.Media;
using Parley.Protocol.V1;
using Parley.Sdk;
using MediaKind = Parley.Sdk.MediaKind;

namespace Parley.IntegrationTests;

/// <summary>
/// Media through the real server and the real SDK: uploads in checksummed parts, thumbnails, EXIF location stripping,
/// sniffing, signed downloads with ranges, authorisation, revoke and the sweeper. The filesystem store here; the
/// same scenarios against S3 are in <see cref="MediaS3Tests"/>.
/// </summary>
public sealed class MediaTests : IAsyncLifetime
{
    private TestServer _server = null!;

    internal static Dictionary<string, string?> Settings(Dictionary<string, string?>? extra = null)
    {
        var settings = new Dictionary<string, string?> { ["Parley:Media:SweepInterval"] = "01:00:00" };
        foreach (var (k, v) in extra ?? [])
        {
            settings[k] = v;
        }

        return settings;
    }

    public async Task InitializeAsync() => _server = await TestServer.StartAsync(Settings());

    public async Task DisposeAsync() => await _server.DisposeAsync();

    [Fact]
    public Task Image_SentToAPeer_ArrivesMeasuredWithThumbnail_AndLocationStripped() => MediaScenarios.ImageRoundTripAsync(_server);

    [Fact]
    public Task VoiceVideoFileLocationAndReply_RoundTripThroughHistory() => MediaScenarios.OtherKindsRoundTripAsync(_server);

    [Fact]
    public Task LargeFile_DroppedConnections_ResumeAndTheBytesMatch() => MediaScenarios.LargeFileResumesAsync(_server, 50L * 1024 * 1024);

    [Theory]
    [InlineData("gps-493x312.heic", "image/heic")]
    [InlineData("gps-493x312.avif", "image/avif")]
    public async Task HeicAndAvif_AreImagesMeasuredFromTheContainer_LocationStripped_NoThumbnail(string fixture, string contentType)
    {
        var alice = await _server.CreateUserAsync("alice");
        var bob = await _server.CreateUserAsync("bob");
        var client = await _server.ConnectAsync(alice);
        var original = await File.ReadAllBytesAsync(Path.Combine(AppContext.BaseDirectory, "Fixtures", fixture));
        Assert.True(original.AsSpan().IndexOf(MediaFiles.GpsMarker) >= 0, "the fixture carries GPS data");

        // Sent as an image (the bytes decide: a HEIF container is an image, whatever the name says).
        var receipt = await client.SendImageAsync(new Target { UserId = bob }, new MemoryStream(original), "IMG_0001.bin");
        var bobClient = await _server.ConnectAsync(bob);
        var image = (await bobClient.GetHistoryAsync(receipt.ConversationId)).Messages.Single().Content.Image;
        Assert.Equal((contentType, 493u, 312u), (image.ContentType, image.Width, image.Height));
        Assert.Empty(image.ThumbnailObjectId); // nothing here decodes HEVC or AV1 (docs/media.md)

        // The downloaded bytes: location gone, everything else byte for byte (the GPS directory is emptied in place).
        using var copy = new MemoryStream();
        var obj = await bobClient.DownloadAsync(image.ObjectId, copy);
        var stored = copy.ToArray();
        Assert.Equal(original.Length, stored.Length);
        Assert.True(stored.AsSpan().IndexOf(MediaFiles.GpsMarker) < 0, "the GPS data must be stripped");
        Assert.True(original.Zip(stored).Count(p => p.First != p.Second) <= 64, "only the GPS directory changes");
        using var http = new HttpClient();
        using var response = await http.GetAsync(obj.Url);
        Assert.Equal(contentType, response.Content.Headers.ContentType?.MediaType);
        Assert.Equal("inline", response.Content.Headers.ContentDisposition?.DispositionType);

        // A HEIF header claiming a huge primary image is refused like any decompression bomb.
        var bomb = (byte[])original.Clone();
        var patched = 0;
        for (var at = bomb.AsSpan().IndexOf("ispe"u8); at > 0; at = bomb.AsSpan(at + 4).IndexOf("ispe"u8) is var next and >= 0 ? at + 4 + next : -1)
        {
            // Every image's ispe (a HEIC's primary item is often a grid of tiles, each with its own).
            System.Buffers.Binary.BinaryPrimitives.WriteUInt32BigEndian(bomb.AsSpan(at + 8), 60_000);
            System.Buffers.Binary.BinaryPrimitives.WriteUInt32BigEndian(bomb.AsSpan(at + 12), 60_000);
            patched++;
        }

        Assert.True(patched > 0);
        var refused = await Assert.ThrowsAsync<ParleyException>(() => client.UploadAsync(new MemoryStream(bomb), MediaKind.Image, "bomb.heic"));
        Assert.Equal(ErrorCode.TooLarge, refused.Code);
    }

    [Fact]
    public async Task Download_RangeRequests_ServePartialContentWithSafeHeaders()
    {
        var alice = await _server.CreateUserAsync("alice");
        var client = await _server.ConnectAsync(alice);
        var bytes = RandomNumberGenerator.GetBytes(100_000);
        var obj = await client.UploadAsync(new MemoryStream(bytes), MediaKind.File, "..\\..\\evil\"name\u202Egpj.exe");
        Assert.Equal("evil\"namegpj.exe".Replace("\"", string.Empty, StringComparison.Ordinal), obj.FileName);
        var url = (await client.GetObjectAsync(obj.ObjectId)).Url!;

        using var http = new HttpClient();
        using var range = new HttpRequestMessage(HttpMethod.Get, url);
        range.Headers.Range = new RangeHeaderValue(1000, 1999);
        using var partial = await http.SendAsync(range);
        Assert.Equal(HttpStatusCode.PartialContent, partial.StatusCode);
        Assert.Equal(bytes[1000..2000], await partial.Content.ReadAsByteArrayAsync());
        Assert.Equal("bytes 1000-1999/100000", partial.Content.Headers.ContentRange?.ToString());
        Assert.Equal("application/octet-stream", partial.Content.Headers.ContentType?.MediaType);
        Assert.Equal("attachment", partial.Content.Headers.ContentDisposition?.DispositionType);
        Assert.Equal("nosniff", partial.Headers.GetValues("X-Content-Type-Options").Single());
        Assert.True(partial.Headers.CacheControl is { Private: true, MaxAge: not null }, "downloads are privately cacheable until the URL expires");

        using var suffix = new HttpRequestMessage(HttpMethod.Get, url);
        suffix.Headers.Range = new RangeHeaderValue(null, 10);
        using var tail = await http.SendAsync(suffix);
        Assert.Equal(bytes[^10..], await tail.Content.ReadAsByteArrayAsync());

        using var beyond = new HttpRequestMessage(HttpMethod.Get, url);
        beyond.Headers.Range = new RangeHeaderValue(200_000, null);
        using var unsatisfiable = await http.SendAsync(beyond);
        Assert.Equal(HttpStatusCode.RequestedRangeNotSatisfiable, unsatisfiable.StatusCode);
    }

    [Fact]
    public async Task Authorisation_NonMemberRemovedMemberExpiredAndTamperedUrls_AreRefused()
    {
        var (owner, bob, carol, mallory) = (await _server.CreateUserAsync("own"), await _server.CreateUserAsync("bob"), await _server.CreateUserAsync("car"), await _server.CreateUserAsync("mal"));
        var ownerClient = await _server.ConnectAsync(owner);
        var group = await ownerClient.CreateGroupAsync(new CreateGroupRequest { Name = "pics", MemberIds = { bob, carol } });
        await ownerClient.SendImageAsync(new Target { ConversationId = group.ConversationId }, new MemoryStream(MediaFiles.Jpeg(64, 48)), "a.jpg");
        var history = await ownerClient.GetHistoryAsync(group.ConversationId);
        var objectId = history.Messages.Last().Content.Image.ObjectId;

        var bobClient = await _server.ConnectAsync(bob);
        var carolClient = await _server.ConnectAsync(carol);
        var malloryClient = await _server.ConnectAsync(mallory);

        // Members get a URL; a non-member gets the same answer as for a missing object.
        Assert.NotNull((await bobClient.GetObjectAsync(objectId)).Url);
        var carolsUrl = (await carolClient.GetObjectAsync(objectId)).Url!;
        Assert.Equal(ErrorCode.NotFound, (await Assert.ThrowsAsync<ParleyException>(() => malloryClient.GetObjectAsync(objectId))).Code);
        Assert.Equal(ErrorCode.NotFound, (await Assert.ThrowsAsync<ParleyException>(() => malloryClient.GetObjectAsync(new string('a', 32)))).Code);

        // A removed member gets no new URL; the one issued before works until it expires, then stops.
        await ownerClient.KickMembersAsync(group.GroupId, [carol]);
        Assert.Equal(ErrorCode.NotFound, (await Assert.ThrowsAsync<ParleyException>(() => carolClient.GetObjectAsync(objectId))).Code);
        using var http = new HttpClient();
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync(carolsUrl)).StatusCode);
        _server.Clock.Offset += TimeSpan.FromMinutes(6);
        try
        {
            Assert.Equal(HttpStatusCode.Forbidden, (await http.GetAsync(carolsUrl)).StatusCode);
        }
        finally
        {
            _server.Clock.Offset -= TimeSpan.FromMinutes(6);
        }

        // A tampered signature, or a URL re-pointed at another object, is refused.
        var url = (await bobClient.GetObjectAsync(objectId)).Url!;
        var tampered = url[..^3] + (url[^3] == 'A' ? "B" : "A") + url[^2..];
        Assert.Equal(HttpStatusCode.Forbidden, (await http.GetAsync(tampered)).StatusCode);
        var other = await malloryClient.UploadAsync(new MemoryStream(RandomNumberGenerator.GetBytes(10)), MediaKind.File, "x.bin");
        Assert.Equal(HttpStatusCode.Forbidden, (await http.GetAsync(url.Replace(objectId, other.ObjectId, StringComparison.Ordinal))).StatusCode);

        // Another user's object cannot be sent, and another user's upload id answers as unknown.
        var refused = await Assert.ThrowsAsync<ParleyException>(() => malloryClient.SendAsync(new Target { UserId = owner }, new Content { File = new FileContent { ObjectId = objectId } }));
        Assert.Equal(ErrorCode.NotFound, refused.Code);
        var api = Api(await _server.IssueTokenAsync(owner, "api"));
        using var initiated = await api.PostAsJsonAsync("/api/v1/uploads", new { kind = "file", fileName = "f", size = 10 });
        var uploadId = (await initiated.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("uploadId").GetString();
        var thief = Api(await _server.IssueTokenAsync(mallory, "api"));
        Assert.Equal(HttpStatusCode.NotFound, (await thief.GetAsync($"/api/v1/uploads/{uploadId}")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await thief.PostAsync($"/api/v1/uploads/{uploadId}/complete", null)).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await thief.DeleteAsync($"/api/v1/uploads/{uploadId}")).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await new HttpClient { BaseAddress = _server.BaseUri }.GetAsync($"/api/v1/uploads/{uploadId}")).StatusCode);
    }

    [Fact]
    public async Task Authorisation_NewcomerToAGroupHidingHistory_GetsNoUrlForMediaSentBeforeTheyJoined()
    {
        var (owner, dave) = (await _server.CreateUserAsync("own"), await _server.CreateUserAsync("dav"));
        var ownerClient = await _server.ConnectAsync(owner);
        var closed = await ownerClient.CreateGroupAsync(new CreateGroupRequest { Name = "closed" });
        var open = await ownerClient.CreateGroupAsync(new CreateGroupRequest { Name = "open", HistoryVisibleToNewMembers = true });
        var closedImage = await ownerClient.UploadAsync(new MemoryStream(MediaFiles.Jpeg(64, 48)), MediaKind.Image, "before.jpg");
        var openImage = await ownerClient.UploadAsync(new MemoryStream(MediaFiles.Jpeg(32, 24)), MediaKind.Image, "shared.jpg");
        await ownerClient.SendAsync(new Target { ConversationId = closed.ConversationId }, new Content { Image = new ImageContent { ObjectId = closedImage.ObjectId } });
        await ownerClient.SendAsync(new Target { ConversationId = open.ConversationId }, new Content { Image = new ImageContent { ObjectId = openImage.ObjectId } });
        await ownerClient.InviteToGroupAsync(closed.GroupId, [dave]);
        await ownerClient.InviteToGroupAsync(open.GroupId, [dave]);
        var daveClient = await _server.ConnectAsync(dave);

        // The message before the join is hidden from the newcomer, and so is its object; where history is visible, both are.
        Assert.Equal(ErrorCode.NotFound, (await Assert.ThrowsAsync<ParleyException>(() => daveClient.GetObjectAsync(closedImage.ObjectId))).Code);
        Assert.NotNull((await daveClient.GetObjectAsync(openImage.ObjectId)).Url);

        // The same object sent again after the join is the newcomer's to see.
        await ownerClient.SendAsync(new Target { ConversationId = closed.ConversationId }, new Content { Image = new ImageContent { ObjectId = closedImage.ObjectId } });
        Assert.NotNull((await daveClient.GetObjectAsync(closedImage.ObjectId)).Url);
    }

    [Fact]
    public async Task Initiate_WithoutAValidToken_IsRefusedBeforeTheBodyIsRead()
    {
        // A body that cannot bind (not JSON) and one over the JSON cap: without a token both are 401, never 400 or 413,
        // because the token is checked before anything reads the body.
        using var anonymous = new HttpClient { BaseAddress = _server.BaseUri };
        using var garbage = new StringContent("{not json", System.Text.Encoding.UTF8, "application/json");
        Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.PostAsync("/api/v1/uploads", garbage)).StatusCode);
        using var huge = new ByteArrayContent(new byte[200_000]);
        huge.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.PostAsync("/api/v1/uploads", huge)).StatusCode);

        // With a token, the same bodies get their typed errors.
        var api = Api(await _server.IssueTokenAsync(await _server.CreateUserAsync("ini"), "api"));
        using var garbage2 = new StringContent("{not json", System.Text.Encoding.UTF8, "application/json");
        using var refused = await api.PostAsync("/api/v1/uploads", garbage2);
        Assert.Equal(HttpStatusCode.BadRequest, refused.StatusCode);
        Assert.Equal("BAD_REQUEST", (await refused.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("error").GetProperty("code").GetString());
        using var huge2 = new ByteArrayContent(new byte[200_000]);
        huge2.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, (await api.PostAsync("/api/v1/uploads", huge2)).StatusCode);
    }

    [Fact]
    public async Task BadInput_IsRefusedWithTypedErrors_AndLosesNothing()
    {
        var alice = await _server.CreateUserAsync("alice");
        var bob = await _server.CreateUserAsync("bob");
        var client = await _server.ConnectAsync(alice);
        var api = Api(await _server.IssueTokenAsync(alice, "api"));

        // Zero bytes, oversized, unknown kind.
        Assert.Equal(HttpStatusCode.BadRequest, (await api.PostAsJsonAsync("/api/v1/uploads", new { kind = "file", fileName = "e", size = 0 })).StatusCode);
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, (await api.PostAsJsonAsync("/api/v1/uploads", new { kind = "image", fileName = "big.jpg", size = 33L * 1024 * 1024 })).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await api.PostAsJsonAsync("/api/v1/uploads", new { kind = "exe", fileName = "x", size = 5 })).StatusCode);

        // A part shorter than declared, a wrong checksum, completion with a part missing.
        using var initiated = await api.PostAsJsonAsync("/api/v1/uploads", new { kind = "file", fileName = "f.bin", size = 100 });
        var upload = await initiated.Content.ReadFromJsonAsync<JsonElement>();
        var partUrl = upload.GetProperty("parts")[0].GetProperty("url").GetString()!;
        var uploadId = upload.GetProperty("uploadId").GetString()!;
        var bytes = RandomNumberGenerator.GetBytes(100);
        Assert.Equal(HttpStatusCode.BadRequest, (await PutPartAsync(partUrl, bytes[..50], bytes[..50])).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await PutPartAsync(partUrl, bytes, RandomNumberGenerator.GetBytes(100))).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await api.PostAsync($"/api/v1/uploads/{uploadId}/complete", null)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await PutPartAsync(partUrl, bytes, bytes)).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await api.PostAsJsonAsync($"/api/v1/uploads/{uploadId}/complete", new { sha256 = new string('0', 64) })).StatusCode);

        // A part number outside the upload is not signed: the URL is refused.
        Assert.Equal(HttpStatusCode.Forbidden, (await PutPartAsync(partUrl.Replace("/parts/1?", "/parts/2?", StringComparison.Ordinal), bytes, bytes)).StatusCode);

        // Parts out of order: part 2 first, then part 1; the object joins them in part order.
        var two = RandomNumberGenerator.GetBytes((int)(5 * 1024 * 1024) + 1234);
        using var ordered = await api.PostAsJsonAsync("/api/v1/uploads", new { kind = "file", fileName = "two.bin", size = two.Length, partSize = 5 * 1024 * 1024 });
        var twoUpload = await ordered.Content.ReadFromJsonAsync<JsonElement>();
        var twoParts = twoUpload.GetProperty("parts");
        Assert.Equal(HttpStatusCode.OK, (await PutPartAsync(twoParts[1].GetProperty("url").GetString()!, two[(5 * 1024 * 1024)..], two[(5 * 1024 * 1024)..])).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await PutPartAsync(twoParts[0].GetProperty("url").GetString()!, two[..(5 * 1024 * 1024)], two[..(5 * 1024 * 1024)])).StatusCode);
        using var completed = await api.PostAsJsonAsync($"/api/v1/uploads/{twoUpload.GetProperty("uploadId").GetString()}/complete", new { sha256 = Convert.ToHexStringLower(SHA256.HashData(two)) });
        Assert.Equal(HttpStatusCode.OK, completed.StatusCode);
        var twoId = (await completed.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("objectId").GetString()!;
        using var downloaded = new MemoryStream();
        await client.DownloadAsync(twoId, downloaded);
        Assert.Equal(two, downloaded.ToArray());

        // A ".jpg" that is an executable is stored as a file and cannot be sent as an image.
        var exe = await client.UploadAsync(new MemoryStream(MediaFiles.Elf()), MediaKind.Image, "cat.jpg");
        Assert.Equal("file", exe.Kind);
        Assert.Equal("application/octet-stream", exe.ContentType);
        var notImage = await Assert.ThrowsAsync<ParleyException>(() => client.SendAsync(new Target { UserId = bob }, new Content { Image = new ImageContent { ObjectId = exe.ObjectId } }));
        Assert.Equal(ErrorCode.BadRequest, notImage.Code);

        // A decompression bomb (100 000 x 100 000 pixels in a few hundred bytes) is refused before decoding.
        var bomb = MediaFiles.PngBomb(100_000, 100_000);
        Assert.True(bomb.Length < 2000);
        var refused = await Assert.ThrowsAsync<ParleyException>(() => client.UploadAsync(new MemoryStream(bomb), MediaKind.Image, "bomb.png"));
        Assert.Equal(ErrorCode.TooLarge, refused.Code);

        // Path characters in a message's file name are refused; the server's own name is safe.
        var file = await client.UploadAsync(new MemoryStream(bytes), MediaKind.File, "../../etc/passwd");
        Assert.Equal("passwd", file.FileName);
        var badName = await Assert.ThrowsAsync<ParleyException>(() => client.SendAsync(new Target { UserId = bob }, new Content { File = new FileContent { ObjectId = file.ObjectId, FileName = "../x" } }));
        Assert.Equal(ErrorCode.BadRequest, badName.Code);

        // Nothing refused above was lost: the good file is sendable and readable by the peer.
        await client.SendAsync(new Target { UserId = bob }, new Content { File = new FileContent { ObjectId = file.ObjectId } });
        var bobClient = await _server.ConnectAsync(bob);
        using var received = new MemoryStream();
        await bobClient.DownloadAsync(file.ObjectId, received);
        Assert.Equal(bytes, received.ToArray());
    }

    [Fact]
    public async Task Revoke_RemovesTheObjectFromEveryReadPath_AndTheSweeperDeletesOrphans()
    {
        await using var server = await TestServer.StartAsync(Settings(new() { ["Parley:Media:DeleteOnRevoke"] = "true", ["Parley:Media:OrphanGracePeriod"] = "00:10:00" }));
        var alice = await server.CreateUserAsync("alice");
        var bob = await server.CreateUserAsync("bob");
        var aliceClient = await server.ConnectAsync(alice);
        var bobClient = await server.ConnectAsync(bob);
        var sent = await aliceClient.SendImageAsync(new Target { UserId = bob }, new MemoryStream(MediaFiles.Jpeg(50, 50)), "r.jpg");
        var objectId = (await aliceClient.GetHistoryAsync(sent.ConversationId)).Messages.Last().Content.Image.ObjectId;
        var url = (await bobClient.GetObjectAsync(objectId)).Url!;
        var unsent = await aliceClient.UploadAsync(new MemoryStream(RandomNumberGenerator.GetBytes(1000)), MediaKind.File, "never-sent.bin");
        var kept = await aliceClient.SendFileAsync(new Target { UserId = bob }, new MemoryStream(RandomNumberGenerator.GetBytes(1000)), "kept.bin");

        await aliceClient.RevokeAsync(sent.ConversationId, sent.Seq);

        Assert.Equal(ErrorCode.NotFound, (await Assert.ThrowsAsync<ParleyException>(() => bobClient.GetObjectAsync(objectId))).Code);

        // After the grace period the sweeper deletes the revoked image (DeleteOnRevoke) and the never-sent upload,
        // and keeps the file a live message references; the revoked image's URL then serves nothing.
        server.Clock.Offset += TimeSpan.FromMinutes(11);
        var sweeper = server.Services.GetRequiredService<MediaSweeper>();
        var (_, objects) = await sweeper.SweepOnceAsync();
        Assert.Equal(2, objects);
        server.Clock.Offset -= TimeSpan.FromMinutes(11);
        Assert.Equal(ErrorCode.NotFound, (await Assert.ThrowsAsync<ParleyException>(() => aliceClient.GetObjectAsync(unsent.ObjectId))).Code);
        Assert.Equal(ErrorCode.NotFound, (await Assert.ThrowsAsync<ParleyException>(() => aliceClient.GetObjectAsync(objectId))).Code);
        using var http = new HttpClient();
        Assert.Equal(HttpStatusCode.NotFound, (await http.GetAsync(url)).StatusCode);
        var keptId = (await bobClient.GetHistoryAsync(kept.ConversationId)).Messages.Single(m => m.Content?.File is not null).Content.File.ObjectId;
        using var keptBytes = new MemoryStream();
        await bobClient.DownloadAsync(keptId, keptBytes);
        Assert.Equal(1000, keptBytes.Length);
    }

    [Fact]
    public async Task Quota_AndExpiredUploads_AreEnforced()
    {
        await using var server = await TestServer.StartAsync(Settings(new() { ["Parley:Media:QuotaBytesPerUser"] = "20000", ["Parley:Media:UploadLifetime"] = "00:05:00" }));
        var alice = await server.CreateUserAsync("alice");
        var client = await server.ConnectAsync(alice);
        await client.UploadAsync(new MemoryStream(RandomNumberGenerator.GetBytes(15_000)), MediaKind.File, "a.bin");
        var over = await Assert.ThrowsAsync<ParleyException>(() => client.UploadAsync(new MemoryStream(RandomNumberGenerator.GetBytes(6_000)), MediaKind.File, "b.bin"));
        Assert.Equal(ErrorCode.Forbidden, over.Code);

        var api = Api(await server.IssueTokenAsync(alice, "api"), server);
        using var initiated = await api.PostAsJsonAsync("/api/v1/uploads", new { kind = "file", fileName = "late.bin", size = 100 });
        var uploadId = (await initiated.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("uploadId").GetString();
        server.Clock.Offset += TimeSpan.FromMinutes(6);
        var (uploads, _) = await server.Services.GetRequiredService<MediaSweeper>().SweepOnceAsync();
        Assert.Equal(1, uploads);
        Assert.Equal(HttpStatusCode.NotFound, (await api.GetAsync($"/api/v1/uploads/{uploadId}")).StatusCode);
    }

    private HttpClient Api(string token, TestServer? server = null)
    {
        var http = new HttpClient { BaseAddress = (server ?? _server).BaseUri };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return http;
    }

    private static async Task<HttpResponseMessage> PutPartAsync(string url, byte[] body, byte[] hashOf)
    {
        using var http = new HttpClient();
        using var request = new HttpRequestMessage(HttpMethod.Put, url) { Content = new ByteArrayContent(body) };
        request.Headers.Add("X-Parley-Sha256", Convert.ToHexStringLower(SHA256.HashData(hashOf)));
        return await http.SendAsync(request);
    }
}

/// <summary>The same round trips against the S3 store (s3rver from .ci/setup.d/30-s3rver.sh).</summary>
public sealed class MediaS3Tests : IAsyncLifetime
{
    private TestServer? _server;

    public async Task InitializeAsync()
    {
        if (S3FactAttribute.ServerSettings() is { } settings)
        {
            _server = await TestServer.StartAsync(MediaTests.Settings(settings));
        }
    }

    public async Task DisposeAsync()
    {
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }
    }

    private TestServer Server => _server ?? throw new InvalidOperationException("PARLEY_TEST_S3_ENDPOINT is not set: run .ci/setup.d/30-s3rver.sh (CI=true requires it).");

    [S3Fact]
    public Task Image_RoundTrip_OnS3() => MediaScenarios.ImageRoundTripAsync(Server);

    [S3Fact]
    public Task OtherKinds_RoundTrip_OnS3() => MediaScenarios.OtherKindsRoundTripAsync(Server);

    [S3Fact]
    public Task LargeFile_Resumes_OnS3() => MediaScenarios.LargeFileResumesAsync(Server, 20L * 1024 * 1024);
}

/// <summary>
/// Presigned direct-to-S3 uploads (<c>Parley:Blobs:S3:PresignedUploads</c>): clients PUT parts to s3rver with S3
/// signatures, confirm each part to Parley with its ETag and SHA-256, and completion checks every part against the joined
/// object.
/// </summary>
public sealed class MediaS3PresignedTests : IAsyncLifetime
{
    private TestServer? _server;

    public async Task InitializeAsync()
    {
        if (S3FactAttribute.ServerSettings() is { } settings)
        {
            settings["Parley:Blobs:S3:PresignedUploads"] = "true";
            _server = await TestServer.StartAsync(MediaTests.Settings(settings));
        }
    }

    public async Task DisposeAsync()
    {
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }
    }

    private TestServer Server => _server ?? throw new InvalidOperationException("PARLEY_TEST_S3_ENDPOINT is not set: run .ci/setup.d/30-s3rver.sh (CI=true requires it).");

    [S3Fact]
    public Task Image_RoundTrip_DirectToS3() => MediaScenarios.ImageRoundTripAsync(Server);

    [S3Fact]
    public Task LargeFile_CutPartResumes_DirectToS3() => MediaScenarios.LargeFileResumesAsync(Server, 20L * 1024 * 1024);

    [S3Fact]
    public async Task DirectParts_GoToS3_AndAreCheckedAgainstTheirConfirmedSha256()
    {
        var alice = await Server.CreateUserAsync("alice");
        var mallory = await Server.CreateUserAsync("mallory");
        using var api = Api(await Server.IssueTokenAsync(alice, "api"));
        using var other = Api(await Server.IssueTokenAsync(mallory, "api"));
        using var s3 = new HttpClient();
        var bytes = RandomNumberGenerator.GetBytes((5 * 1024 * 1024) + 1000);
        var endpoint = new Uri(Environment.GetEnvironmentVariable("PARLEY_TEST_S3_ENDPOINT")!);

        async Task<(string UploadId, string[] ETags)> UploadAsync()
        {
            using var initiated = await api.PostAsJsonAsync("/api/v1/uploads", new { kind = "file", fileName = "direct.bin", size = bytes.Length, partSize = 5 * 1024 * 1024 });
            Assert.Equal(HttpStatusCode.Created, initiated.StatusCode);
            var state = await initiated.Content.ReadFromJsonAsync<JsonElement>();
            Assert.True(state.GetProperty("direct").GetBoolean());
            var etags = new List<string>();
            foreach (var part in state.GetProperty("parts").EnumerateArray())
            {
                var url = new Uri(part.GetProperty("url").GetString()!);
                Assert.Equal(endpoint.Authority, url.Authority); // the store's URL, not Parley's
                var offset = (part.GetProperty("partNumber").GetInt32() - 1) * 5 * 1024 * 1024;
                using var content = new ByteArrayContent(bytes, offset, part.GetProperty("size").GetInt32());
                using var put = await s3.PutAsync(url, content);
                Assert.Equal(HttpStatusCode.OK, put.StatusCode);
                etags.Add(put.Headers.ETag!.Tag);
            }

            return (state.GetProperty("uploadId").GetString()!, [.. etags]);
        }

        static string Sha(ReadOnlySpan<byte> part) => Convert.ToHexStringLower(SHA256.HashData(part));
        var shas = new[] { Sha(bytes.AsSpan(0, 5 * 1024 * 1024)), Sha(bytes.AsSpan(5 * 1024 * 1024)) };

        // A part confirmed with a SHA-256 of other bytes: completion reads the object back and refuses the upload.
        var (uploadId, etags) = await UploadAsync();
        Assert.Equal(HttpStatusCode.OK, (await api.PostAsJsonAsync($"/api/v1/uploads/{uploadId}/parts/1/confirm", new { etag = etags[0], sha256 = shas[0] })).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await api.PostAsJsonAsync($"/api/v1/uploads/{uploadId}/parts/2/confirm", new { etag = etags[1], sha256 = Sha("other"u8) })).StatusCode);
        using (var refused = await api.PostAsJsonAsync($"/api/v1/uploads/{uploadId}/complete", new { }))
        {
            Assert.Equal(HttpStatusCode.BadRequest, refused.StatusCode);
            Assert.Contains("Part 2 does not match its SHA-256", await refused.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }

        // Bad confirmations: another user's upload id, a part number out of range, no ETag, a malformed SHA-256.
        (uploadId, etags) = await UploadAsync();
        Assert.Equal(HttpStatusCode.NotFound, (await other.PostAsJsonAsync($"/api/v1/uploads/{uploadId}/parts/1/confirm", new { etag = etags[0], sha256 = shas[0] })).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await api.PostAsJsonAsync($"/api/v1/uploads/{uploadId}/parts/3/confirm", new { etag = etags[0], sha256 = shas[0] })).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await api.PostAsJsonAsync($"/api/v1/uploads/{uploadId}/parts/1/confirm", new { sha256 = shas[0] })).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await api.PostAsJsonAsync($"/api/v1/uploads/{uploadId}/parts/1/confirm", new { etag = etags[0], sha256 = "xyz" })).StatusCode);
        // Unconfirmed parts are missing; the resumed state lists the confirmed one as stored.
        Assert.Equal(HttpStatusCode.OK, (await api.PostAsJsonAsync($"/api/v1/uploads/{uploadId}/parts/1/confirm", new { etag = etags[0], sha256 = shas[0] })).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await api.PostAsJsonAsync($"/api/v1/uploads/{uploadId}/complete", new { })).StatusCode);
        var resumed = await api.GetFromJsonAsync<JsonElement>($"/api/v1/uploads/{uploadId}");
        Assert.Equal(new[] { true, false }, resumed.GetProperty("parts").EnumerateArray().Select(p => p.GetProperty("stored").GetBoolean()));
        Assert.Equal(HttpStatusCode.OK, (await api.PostAsJsonAsync($"/api/v1/uploads/{uploadId}/parts/2/confirm", new { etag = etags[1], sha256 = shas[1] })).StatusCode);
        using var completed = await api.PostAsJsonAsync($"/api/v1/uploads/{uploadId}/complete", new { sha256 = Sha(bytes) });
        Assert.Equal(HttpStatusCode.OK, completed.StatusCode);
        var objectId = (await completed.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("objectId").GetString();
        var url = (await api.GetFromJsonAsync<JsonElement>($"/api/v1/objects/{objectId}")).GetProperty("url").GetString()!;
        Assert.Equal(bytes, await s3.GetByteArrayAsync(new Uri(url)));
    }

    private HttpClient Api(string token)
    {
        var http = new HttpClient { BaseAddress = Server.BaseUri };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return http;
    }
}

/// <summary>
/// An ETag that S3 refuses at completion (InvalidPart): the test S3 server sits behind <see cref="StrictS3Front"/>, which
/// checks part ETags and lists parts as S3 does. The refused part's record is dropped (409 CONFLICT names it), the
/// upload's state asks for it again, and the SDK re-sends just that part and completes.
/// </summary>
public sealed class MediaS3RefusedETagTests : IAsyncLifetime
{
    private StrictS3Front? _front;
    private TestServer? _server;

    public async Task InitializeAsync()
    {
        if (S3FactAttribute.ServerSettings() is { } settings)
        {
            _front = await StrictS3Front.StartAsync(settings["Parley:Blobs:S3:ServiceUrl"]!);
            settings["Parley:Blobs:S3:ServiceUrl"] = _front.Endpoint;
            settings["Parley:Blobs:S3:PresignedUploads"] = "true";
            _server = await TestServer.StartAsync(MediaTests.Settings(settings));
        }
    }

    public async Task DisposeAsync()
    {
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }

        if (_front is not null)
        {
            await _front.DisposeAsync();
        }
    }

    private TestServer Server => _server ?? throw new InvalidOperationException("PARLEY_TEST_S3_ENDPOINT is not set: run .ci/setup.d/30-s3rver.sh (CI=true requires it).");

    [S3Fact]
    public async Task RefusedETag_DropsThatPartsRecord_ConflictThenResendCompletes()
    {
        var alice = await Server.CreateUserAsync("alice");
        var token = await Server.IssueTokenAsync(alice, "api");
        using var api = new HttpClient { BaseAddress = Server.BaseUri };
        api.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        using var s3 = new HttpClient();
        const int PartSize = 5 * 1024 * 1024;
        var bytes = RandomNumberGenerator.GetBytes((8 * 1024 * 1024) + 4321); // 2 parts at 5 MiB (raw) and at the 8 MiB default (SDK)
        static string Sha(ReadOnlySpan<byte> part) => Convert.ToHexStringLower(SHA256.HashData(part));

        // Raw API: part 2 confirmed with an ETag the store never issued.
        using var initiated = await api.PostAsJsonAsync("/api/v1/uploads", new { kind = "file", fileName = "etag.bin", size = bytes.Length, partSize = PartSize });
        var state = await initiated.Content.ReadFromJsonAsync<JsonElement>();
        var uploadId = state.GetProperty("uploadId").GetString()!;
        foreach (var part in state.GetProperty("parts").EnumerateArray())
        {
            var n = part.GetProperty("partNumber").GetInt32();
            var slice = bytes.AsMemory((n - 1) * PartSize, part.GetProperty("size").GetInt32());
            using var put = await s3.PutAsync(new Uri(part.GetProperty("url").GetString()!), new ReadOnlyMemoryContent(slice));
            Assert.Equal(HttpStatusCode.OK, put.StatusCode);
            var etag = n == 2 ? "\"0123456789abcdef0123456789abcdef\"" : put.Headers.ETag!.Tag;
            Assert.Equal(HttpStatusCode.OK, (await api.PostAsJsonAsync($"/api/v1/uploads/{uploadId}/parts/{n}/confirm", new { etag, sha256 = Sha(slice.Span) })).StatusCode);
        }

        using (var refused = await api.PostAsJsonAsync($"/api/v1/uploads/{uploadId}/complete", new { }))
        {
            Assert.Equal(HttpStatusCode.Conflict, refused.StatusCode);
            var error = (await refused.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("error");
            Assert.Equal("CONFLICT", error.GetProperty("code").GetString());
            Assert.Contains("refused part(s) 2:", error.GetProperty("message").GetString(), StringComparison.Ordinal);
        }

        Assert.Equal(1, _front!.InvalidPartAnswers);
        var resumed = await api.GetFromJsonAsync<JsonElement>($"/api/v1/uploads/{uploadId}");
        Assert.Equal("open", resumed.GetProperty("state").GetString());
        Assert.Equal(new[] { true, false }, resumed.GetProperty("parts").EnumerateArray().Select(p => p.GetProperty("stored").GetBoolean()));

        // The SDK: the first PUT of part 2 answers a corrupted ETag; completion is refused, the SDK sends part 2 again.
        var tamper = new ETagTamperingHandler(2);
        var client = new ParleyClient(new ParleyClientOptions { ServerUri = Server.WebSocketUri, Token = await Server.IssueTokenAsync(alice, "d1"), DeviceId = "d1", HttpHandler = tamper });
        await using var _ = client;
        var obj = await client.UploadAsync(new MemoryStream(bytes), MediaKind.File, "etag.bin");
        Assert.Equal(Sha(bytes), obj.Sha256);
        Assert.Equal(new Dictionary<int, int> { [1] = 1, [2] = 2 }, tamper.PartPuts.ToDictionary());
        Assert.Equal(2, _front.InvalidPartAnswers);
        using var copy = new MemoryStream();
        await client.DownloadAsync(obj.ObjectId, copy);
        Assert.Equal(bytes, copy.ToArray());
    }

    /// <summary>Replaces the ETag S3 answers for the first PUT of one part number, as a broken proxy might.</summary>
    private sealed class ETagTamperingHandler(int partNumber) : DelegatingHandler(new SocketsHttpHandler())
    {
        public System.Collections.Concurrent.ConcurrentDictionary<int, int> PartPuts { get; } = new();

        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            var response = await base.SendAsync(request, cancellationToken);
            var query = System.Web.HttpUtility.ParseQueryString(request.RequestUri!.Query);
            if (request.Method == HttpMethod.Put && int.TryParse(query["partNumber"], out var n)
                && PartPuts.AddOrUpdate(n, 1, (_, c) => c + 1) == 1 && n == partNumber)
            {
                response.Headers.ETag = new EntityTagHeaderValue("\"ffffffffffffffffffffffffffffffff\"");
            }

            return response;
        }
    }
}
