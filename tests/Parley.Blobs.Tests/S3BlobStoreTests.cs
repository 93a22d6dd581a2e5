using System.Reflection;
using Parley.Abstractions.Blobs;
using Parley.Blobs.FileSystem;
using Xunit.Sdk;
using Parley.Blobs.S3;

namespace Parley.Blobs.Tests;

/// <summary>S3-only behaviour, against the S3 server from PARLEY_TEST_S3_* (.ci/setup.d/30-s3rver.sh).</summary>
public sealed class S3BlobStoreTests
{
    [S3Fact]
    public async Task PresignedDownload_ServesTheBytesWithTheRequestedHeaders()
    {
        var options = S3TestServer.Options("presign/") ?? throw new InvalidOperationException(S3TestServer.MissingMessage);
        options.PresignedDownloads = true;
        using var store = new S3BlobStore(options);
        var key = BlobStoreComplianceTests.NewKey();
        byte[] bytes = [.. Enumerable.Range(0, 4096).Select(i => (byte)i)];
        await store.PutAsync(key, new MemoryStream(bytes), bytes.Length);

        var url = store.GetDirectDownloadUrl(key, DateTimeOffset.UtcNow.AddMinutes(5), "image/png", "inline; filename=\"a.png\"");

        Assert.NotNull(url);
        using var http = new HttpClient();
        using var response = await http.GetAsync(url);
        response.EnsureSuccessStatusCode();
        Assert.Equal(bytes, await response.Content.ReadAsByteArrayAsync());
        Assert.Equal("image/png", response.Content.Headers.ContentType?.MediaType);
    }
}

/// <summary>The S3 server the tests use, from PARLEY_TEST_S3_* variables.</summary>
public static class S3TestServer
{
    public const string MissingMessage = "PARLEY_TEST_S3_ENDPOINT is not set: run .ci/setup.d/30-s3rver.sh (CI=true requires it).";

    public static bool Available => !string.IsNullOrEmpty(Environment.GetEnvironmentVariable("PARLEY_TEST_S3_ENDPOINT"));

    public static bool MustRun => string.Equals(Environment.GetEnvironmentVariable("CI"), "true", StringComparison.OrdinalIgnoreCase);

    public static S3BlobStoreOptions? Options(string keyPrefix) => !Available ? null : new S3BlobStoreOptions
    {
        ServiceUrl = Environment.GetEnvironmentVariable("PARLEY_TEST_S3_ENDPOINT")!,
        Bucket = Environment.GetEnvironmentVariable("PARLEY_TEST_S3_BUCKET") ?? "parley-test",
        AccessKey = Environment.GetEnvironmentVariable("PARLEY_TEST_S3_ACCESS_KEY") ?? "S3RVER",
        SecretKey = Environment.GetEnvironmentVariable("PARLEY_TEST_S3_SECRET_KEY") ?? "S3RVER",
        KeyPrefix = keyPrefix,
    };
}

/// <summary>A fact that needs the S3 test server: skipped when it is absent, unless CI=true (then it fails).</summary>
public sealed class S3FactAttribute : FactAttribute
{
    public S3FactAttribute()
    {
        if (!S3TestServer.Available && !S3TestServer.MustRun)
        {
            Skip = S3TestServer.MissingMessage;
        }
    }
}

/// <summary>Theory data: the filesystem provider.</summary>
public sealed class FileSystemStoreAttribute : DataAttribute
{
    public override IEnumerable<object[]> GetData(MethodInfo testMethod) => [["filesystem"]];
}

/// <summary>Theory data: the S3 provider; skipped when the S3 test server is absent, unless CI=true.</summary>
public sealed class S3StoreAttribute : DataAttribute
{
    public S3StoreAttribute()
    {
        if (!S3TestServer.Available && !S3TestServer.MustRun)
        {
            Skip = S3TestServer.MissingMessage;
        }
    }

    public override IEnumerable<object[]> GetData(MethodInfo testMethod) => [["s3"]];
}

/// <summary>Opens each provider once per test class instance and cleans up after it.</summary>
internal sealed class BlobStoreProviders : IDisposable
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), "parley-blobs-" + Guid.NewGuid().ToString("N"));
    private S3BlobStore? _s3;

    public string Root => _root;

    public IBlobStore Open(string provider) => provider switch
    {
        "filesystem" => new FileSystemBlobStore(new FileSystemBlobStoreOptions { RootDirectory = _root }),
        "s3" => _s3 ??= new S3BlobStore(S3TestServer.Options("blobs-" + Guid.NewGuid().ToString("N")[..8] + "/")
            ?? throw new InvalidOperationException(S3TestServer.MissingMessage)),
        _ => throw new ArgumentOutOfRangeException(nameof(provider)),
    };

    public void Dispose()
    {
        _s3?.Dispose();
        try
        {
            Directory.Delete(_root, recursive: true);
        }
        catch (DirectoryNotFoundException)
        {
            // Never used.
        }
        catch (IOException)
        {
            // Best effort.
        }
    }
}
