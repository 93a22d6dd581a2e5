using System.Buffers.Binary;
using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text.Json;

namespace Parley.LoadTest;

/// <summary>
/// Media throughput: one upload and one download of a large file through the real server (pinned to one core), against
/// a plain file copy of the same size on the same disk in the same run; then concurrent small-image uploads, each with
/// its server-side sniffing, measuring and thumbnail.
/// <c>dotnet run -c Release --project benchmarks/Parley.LoadTest -- --media &lt;Parley.Server.dll&gt; [mb] [images]</c>
/// </summary>
internal static class MediaBench
{
    private const int PartSize = 8 * 1024 * 1024;

    public static async Task<int> RunAsync(string serverDll, int megabytes, int images, TextWriter log)
    {
        await using var target = await TargetProcess.StartParleyAsync(serverDll, "0", 200, [], log);
        using var admin = new AdminClient(target);
        var token = (await admin.CreateUsersAsync("media-", 1, 1))[0];
        using var http = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = 64 }) { BaseAddress = target.BaseUrl, Timeout = TimeSpan.FromMinutes(10) };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);

        var size = megabytes * 1024L * 1024;
        var bytes = RandomNumberGenerator.GetBytes((int)size);
        var work = Directory.CreateTempSubdirectory("parley-mediabench-");
        try
        {
            // Baseline: write the source once, then copy it and fsync the copy (what the server does, minus HTTP and hashing).
            var source = Path.Combine(work.FullName, "source.bin");
            await File.WriteAllBytesAsync(source, bytes);
            var copy = Stopwatch.StartNew();
            File.Copy(source, Path.Combine(work.FullName, "copy.bin"));
            using (var f = new FileStream(Path.Combine(work.FullName, "copy.bin"), FileMode.Open, FileAccess.ReadWrite))
            {
                f.Flush(flushToDisk: true);
            }

            var copyMbps = megabytes / copy.Elapsed.TotalSeconds;

            var upload = Stopwatch.StartNew();
            var objectId = await UploadAsync(http, bytes, "big.bin", "file");
            var uploadMbps = megabytes / upload.Elapsed.TotalSeconds;

            var download = Stopwatch.StartNew();
            var obj = await http.GetFromJsonAsync<JsonElement>($"api/v1/objects/{objectId}");
            using var plain = new HttpClient();
            var received = await plain.GetByteArrayAsync(obj.GetProperty("url").GetString());
            var downloadMbps = megabytes / download.Elapsed.TotalSeconds;
            if (!received.AsSpan().SequenceEqual(bytes))
            {
                throw new InvalidOperationException("the downloaded bytes differ");
            }

            // Small images: 320x240 BMPs (decoded, measured, thumbnailed by the server), 16 in flight.
            var image = Bmp(320, 240);
            var images16 = Stopwatch.StartNew();
            await Parallel.ForAsync(0, images, new ParallelOptions { MaxDegreeOfParallelism = 16 }, async (i, ct) =>
            {
                var id = await UploadAsync(http, image, $"img{i}.bmp", "image");
                ArgumentException.ThrowIfNullOrEmpty(id);
            });
            var imagesPerSecond = images / images16.Elapsed.TotalSeconds;

            await log.WriteLineAsync(string.Create(CultureInfo.InvariantCulture, $"media    file_copy_mb_per_s          {copyMbps,12:F1}"));
            await log.WriteLineAsync(string.Create(CultureInfo.InvariantCulture, $"media    upload_mb_per_s             {uploadMbps,12:F1}   ratio to copy {uploadMbps / copyMbps:F2}"));
            await log.WriteLineAsync(string.Create(CultureInfo.InvariantCulture, $"media    download_mb_per_s           {downloadMbps,12:F1}   ratio to copy {downloadMbps / copyMbps:F2}"));
            await log.WriteLineAsync(string.Create(CultureInfo.InvariantCulture, $"media    image_uploads_per_s         {imagesPerSecond,12:F1}   ({images} x {image.Length} B, thumbnails)"));
            return 0;
        }
        finally
        {
            work.Delete(recursive: true);
        }
    }

    private static async Task<string> UploadAsync(HttpClient http, byte[] bytes, string name, string kind)
    {
        using var initiated = await http.PostAsJsonAsync("api/v1/uploads", new { kind, fileName = name, size = bytes.Length, partSize = PartSize });
        initiated.EnsureSuccessStatusCode();
        var upload = await initiated.Content.ReadFromJsonAsync<JsonElement>();
        var parts = upload.GetProperty("parts");
        for (var n = 0; n < parts.GetArrayLength(); n++)
        {
            var part = parts[n];
            var from = n * PartSize;
            var length = (int)part.GetProperty("size").GetInt64();
            using var request = new HttpRequestMessage(HttpMethod.Put, part.GetProperty("url").GetString()) { Content = new ByteArrayContent(bytes, from, length) };
            request.Headers.Add("X-Parley-Sha256", Convert.ToHexStringLower(SHA256.HashData(bytes.AsSpan(from, length))));
            using var stored = await http.SendAsync(request);
            stored.EnsureSuccessStatusCode();
        }

        using var completed = await http.PostAsync($"api/v1/uploads/{upload.GetProperty("uploadId").GetString()}/complete", null);
        completed.EnsureSuccessStatusCode();
        return (await completed.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("objectId").GetString()!;
    }

    private static byte[] Bmp(int width, int height)
    {
        var row = ((width * 3) + 3) & ~3;
        var bmp = new byte[54 + (row * height)];
        "BM"u8.CopyTo(bmp);
        BinaryPrimitives.WriteInt32LittleEndian(bmp.AsSpan(2), bmp.Length);
        BinaryPrimitives.WriteInt32LittleEndian(bmp.AsSpan(10), 54);
        BinaryPrimitives.WriteInt32LittleEndian(bmp.AsSpan(14), 40);
        BinaryPrimitives.WriteInt32LittleEndian(bmp.AsSpan(18), width);
        BinaryPrimitives.WriteInt32LittleEndian(bmp.AsSpan(22), height);
        BinaryPrimitives.WriteInt16LittleEndian(bmp.AsSpan(26), 1);
        BinaryPrimitives.WriteInt16LittleEndian(bmp.AsSpan(28), 24);
        for (var i = 54; i < bmp.Length; i++)
        {
            bmp[i] = (byte)(i * 7);
        }

        return bmp;
    }
}
