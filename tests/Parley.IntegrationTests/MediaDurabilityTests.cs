using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text.Json;
using Parley.IntegrationTests.Infrastructure;

namespace Parley.IntegrationTests;

/// <summary>kill -9 of the real server process in the middle of uploads: nothing completed is lost, nothing torn is served.</summary>
public sealed class MediaDurabilityTests
{
    private const int PartSize = 5 * 1024 * 1024;

    [Fact]
    public async Task KillMinus9_DuringAPartUpload_CompletedObjectsSurvive_StoredPartsResume_NoTornFileServed()
    {
        var dataDirectory = Path.Combine(Path.GetTempPath(), "parley-media-kill-" + Guid.NewGuid().ToString("N"));
        await using var server = new ServerProcess(dataDirectory);
        await server.StartAsync();
        var api = await ApiAsync(server, "alice");

        // A completed upload, and an upload with parts 1 and 2 stored.
        var small = RandomNumberGenerator.GetBytes(300_000);
        var completed = await UploadAsync(api, small, "done.bin");
        var big = RandomNumberGenerator.GetBytes((2 * PartSize) + 777_777);
        var upload = await InitiateAsync(api, big.Length, "big.bin");
        var parts = upload.GetProperty("parts");
        for (var n = 0; n < 2; n++)
        {
            Assert.Equal(HttpStatusCode.OK, (await PutAsync(parts[n].GetProperty("url").GetString()!, big[(n * PartSize)..((n + 1) * PartSize)])).StatusCode);
        }

        // Part 3 is in flight (half its bytes sent) when the server dies.
        var gate = new TaskCompletionSource();
        var third = big[(2 * PartSize)..];
        using var inflight = new HttpClient();
        using var request = new HttpRequestMessage(HttpMethod.Put, parts[2].GetProperty("url").GetString()) { Content = new StreamContent(new StallingStream(third, third.Length / 2, gate.Task)) };
        request.Content.Headers.ContentLength = third.Length;
        request.Headers.Add("X-Parley-Sha256", Convert.ToHexStringLower(SHA256.HashData(third)));
        var sending = inflight.SendAsync(request);
        await Wait.UntilAsync(() => Directory.Exists(Path.Combine(dataDirectory, "blobs", "tmp")) && Directory.EnumerateFiles(Path.Combine(dataDirectory, "blobs", "tmp")).Any(f => new FileInfo(f).Length > 0), "part 3 is being written");
        await server.KillAsync();
        gate.TrySetResult();
        await Assert.ThrowsAnyAsync<Exception>(() => sending);

        await server.StartAsync();
        api = await ApiAsync(server, "alice", register: false);

        // The interrupted write left nothing behind, the completed object is intact.
        Assert.Empty(Directory.EnumerateFiles(Path.Combine(dataDirectory, "blobs", "tmp")));
        Assert.Equal(small, await DownloadAsync(api, completed));

        // The upload resumes: parts 1 and 2 are stored, part 3 is missing; sending it completes the object intact.
        using var state = await api.GetAsync($"/api/v1/uploads/{upload.GetProperty("uploadId").GetString()}");
        var stateBody = await state.Content.ReadFromJsonAsync<JsonElement>();
        var stored = stateBody.GetProperty("parts").EnumerateArray().Select(p => p.GetProperty("stored").GetBoolean()).ToArray();
        Assert.Equal([true, true, false], stored);
        Assert.Equal(HttpStatusCode.OK, (await PutAsync(stateBody.GetProperty("parts")[2].GetProperty("url").GetString()!, third)).StatusCode);
        using var complete = await api.PostAsJsonAsync($"/api/v1/uploads/{upload.GetProperty("uploadId").GetString()}/complete", new { sha256 = Convert.ToHexStringLower(SHA256.HashData(big)) });
        Assert.Equal(HttpStatusCode.OK, complete.StatusCode);
        var objectId = (await complete.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("objectId").GetString()!;
        Assert.Equal(SHA256.HashData(big), SHA256.HashData(await DownloadAsync(api, objectId)));
        await server.KillAsync();
    }

    private static async Task<HttpClient> ApiAsync(ServerProcess server, string userId, bool register = true)
    {
        if (register)
        {
            await server.CreateUserAsync(userId);
        }

        var token = (await server.IssueTokenAsync(userId)).Token;
        var http = new HttpClient { BaseAddress = server.BaseUri };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return http;
    }

    private static async Task<JsonElement> InitiateAsync(HttpClient api, long size, string name)
    {
        using var response = await api.PostAsJsonAsync("/api/v1/uploads", new { kind = "file", fileName = name, size, partSize = PartSize });
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        return await response.Content.ReadFromJsonAsync<JsonElement>();
    }

    private static async Task<string> UploadAsync(HttpClient api, byte[] bytes, string name)
    {
        var upload = await InitiateAsync(api, bytes.Length, name);
        Assert.Equal(HttpStatusCode.OK, (await PutAsync(upload.GetProperty("parts")[0].GetProperty("url").GetString()!, bytes)).StatusCode);
        using var complete = await api.PostAsync($"/api/v1/uploads/{upload.GetProperty("uploadId").GetString()}/complete", null);
        Assert.Equal(HttpStatusCode.OK, complete.StatusCode);
        return (await complete.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("objectId").GetString()!;
    }

    private static async Task<HttpResponseMessage> PutAsync(string url, byte[] body)
    {
        using var http = new HttpClient();
        using var request = new HttpRequestMessage(HttpMethod.Put, url) { Content = new ByteArrayContent(body) };
        request.Headers.Add("X-Parley-Sha256", Convert.ToHexStringLower(SHA256.HashData(body)));
        return await http.SendAsync(request);
    }

    private static async Task<byte[]> DownloadAsync(HttpClient api, string objectId)
    {
        var obj = await api.GetFromJsonAsync<JsonElement>($"/api/v1/objects/{objectId}");
        using var http = new HttpClient();
        return await http.GetByteArrayAsync(obj.GetProperty("url").GetString());
    }

    /// <summary>Gives <c>before</c> bytes, then waits for the gate (the server is killed meanwhile).</summary>
    private sealed class StallingStream(byte[] bytes, int before, Task gate) : Stream
    {
        private int _position;

        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => bytes.Length;

        public override long Position
        {
            get => _position;
            set => throw new NotSupportedException();
        }

        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            if (_position >= before)
            {
                await gate.WaitAsync(cancellationToken);
                throw new IOException("The upload was cut by the test.");
            }

            var n = Math.Min(buffer.Length, before - _position);
            bytes.AsMemory(_position, n).CopyTo(buffer);
            _position += n;
            return n;
        }

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
