using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace Parley.Compat.OpenIM.Tests;

/// <summary>
/// OpenIM's multipart upload names each part by its MD5 (S3's part ETag) and the upload by the MD5 of those MD5s joined with
/// commas (<c>hash</c> at initiation): completion checks both, against the bytes the server actually stored, as OpenIM does.
/// Raw REST calls, so the test can lie where the real SDK (OpenImSdkMediaTests) never does.
/// </summary>
public sealed class OpenImObjectPartMd5Tests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    private const int PartSize = 5 * 1024 * 1024;

    private OpenImTestServer Server => fixture.Server;

#pragma warning disable CA5351 // OpenIM's protocol.
    private static string Md5(ReadOnlySpan<byte> bytes) => Convert.ToHexStringLower(MD5.HashData(bytes));
#pragma warning restore CA5351

    private static string HashOf(IEnumerable<string> partMd5s) => Md5(Encoding.UTF8.GetBytes(string.Join(',', partMd5s)));

    /// <summary>Initiates a two-part upload of <paramref name="bytes"/> declaring <paramref name="hash"/>, PUTs the bytes, returns the upload id.</summary>
    private async Task<string> UploadAsync(string token, byte[] bytes, string hash)
    {
        var started = await Server.PostAsync("/object/initiate_multipart_upload", new { hash, size = bytes.Length, partSize = PartSize, maxParts = -1, cause = "", name = "u/report.bin", contentType = "application/octet-stream" }, token);
        OpenImRestUsers.AssertOk(started);
        var upload = started.GetProperty("data").GetProperty("upload");
        var uploadId = upload.GetProperty("uploadID").GetString()!;
        Assert.EndsWith("." + hash, uploadId, StringComparison.Ordinal);
        foreach (var part in upload.GetProperty("sign").GetProperty("parts").EnumerateArray())
        {
            var n = part.GetProperty("partNumber").GetInt32();
            var offset = (n - 1) * PartSize;
            using var content = new ByteArrayContent(bytes, offset, Math.Min(PartSize, bytes.Length - offset));
            using var response = await Server.Http.PutAsync(new Uri(part.GetProperty("url").GetString()!), content);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }

        return uploadId;
    }

    private Task<JsonElement> CompleteAsync(string token, string uploadId, IEnumerable<string> parts) =>
        Server.PostAsync("/object/complete_multipart_upload", new { uploadID = uploadId, parts, cause = "", name = "u/report.bin", contentType = "application/octet-stream" }, token);

    [Fact]
    public async Task CompleteMultipartUpload_ChecksThePartMd5sAgainstTheHashAndTheStoredBytes()
    {
        var (_, token) = await Server.RegisterAsync("md5");
        var bytes = RandomNumberGenerator.GetBytes(PartSize + 70_001);
        string[] md5s = [Md5(bytes.AsSpan(0, PartSize)), Md5(bytes.AsSpan(PartSize))];

        // Part MD5s that do not give the declared hash: refused before anything is joined; the honest list still completes.
        var uploadId = await UploadAsync(token, bytes, HashOf(md5s));
        var refused = await CompleteAsync(token, uploadId, [md5s[1], md5s[0]]);
        OpenImRestUsers.AssertError(refused, OpenImErrors.Args);
        Assert.Contains("md5 mismatching", refused.GetProperty("errDlt").GetString() + refused.GetProperty("errMsg").GetString(), StringComparison.Ordinal);
        var completed = await CompleteAsync(token, uploadId, md5s);
        OpenImRestUsers.AssertOk(completed);
        var url = completed.GetProperty("data").GetProperty("url").GetString()!;
        var access = await Server.PostAsync("/object/access_url", new { name = url }, token);
        OpenImRestUsers.AssertOk(access);
        Assert.Equal(bytes, await Server.Http.GetByteArrayAsync(new Uri(access.GetProperty("data").GetProperty("url").GetString()!)));

        // A client whose second part's MD5 (and so its hash) names other bytes than the ones it PUT: the stored part does not
        // match, the upload is refused and its object deleted; completing again finds nothing.
        string[] claimed = [md5s[0], Md5(Encoding.UTF8.GetBytes("other bytes"))];
        uploadId = await UploadAsync(token, bytes, HashOf(claimed));
        refused = await CompleteAsync(token, uploadId, claimed);
        OpenImRestUsers.AssertError(refused, OpenImErrors.Args);
        Assert.Contains("Part 2 does not match its MD5", refused.GetProperty("errDlt").GetString() + refused.GetProperty("errMsg").GetString(), StringComparison.Ordinal);
        OpenImRestUsers.AssertError(await CompleteAsync(token, uploadId, claimed), OpenImErrors.RecordNotFound);

        // Malformed part lists: wrong count, not MD5s.
        uploadId = await UploadAsync(token, bytes, HashOf(md5s));
        OpenImRestUsers.AssertError(await CompleteAsync(token, uploadId, [md5s[0]]), OpenImErrors.Args);
        OpenImRestUsers.AssertError(await CompleteAsync(token, uploadId, ["1", "2"]), OpenImErrors.Args);
        OpenImRestUsers.AssertOk(await CompleteAsync(token, uploadId, md5s));

        // An upload id whose hash part was tampered with is a mismatch, not a way around the check.
        uploadId = await UploadAsync(token, bytes, HashOf(md5s));
        var tampered = uploadId[..uploadId.IndexOf('.', StringComparison.Ordinal)] + "." + new string('0', 32);
        OpenImRestUsers.AssertError(await CompleteAsync(token, tampered, md5s), OpenImErrors.Args);
    }
}
