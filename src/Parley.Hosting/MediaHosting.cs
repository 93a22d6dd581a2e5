using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using Parley.Abstractions.Blobs;
using Parley.Abstractions.Media;
using Parley.Blobs.FileSystem;
using Parley.Blobs.S3;
using Parley.Media;
using Parley.Storage.Sqlite;
using Parley.Storage.Sqlite.Media;

namespace Parley.Hosting;

/// <summary>Wires media: the object store chosen by <c>Parley:Media:Store</c>, the SQLite media records and the service.</summary>
internal static class MediaHosting
{
    public static void AddMedia(IServiceCollection services, IConfiguration config)
    {
        services.AddOptions<MediaOptions>().Bind(config.GetSection(MediaOptions.Section)).ValidateDataAnnotations()
            .Validate(o => o.Store is "FileSystem" or "S3", "Parley:Media:Store must be FileSystem or S3.")
            .ValidateOnStart();
        services.AddOptions<S3BlobStoreOptions>().Bind(config.GetSection("Parley:Blobs:S3"));
        services.AddSingleton<IBlobStore>(sp =>
        {
            var media = sp.GetRequiredService<IOptions<MediaOptions>>().Value;
            if (media.Store == "S3")
            {
                var s3 = sp.GetRequiredService<IOptions<S3BlobStoreOptions>>().Value;
                if (string.IsNullOrWhiteSpace(s3.ServiceUrl) || string.IsNullOrWhiteSpace(s3.Bucket) || string.IsNullOrWhiteSpace(s3.AccessKey) || string.IsNullOrWhiteSpace(s3.SecretKey))
                {
                    throw new OptionsValidationException("Parley:Blobs:S3", typeof(S3BlobStoreOptions), ["Parley:Media:Store=S3 needs Parley:Blobs:S3:ServiceUrl, Bucket, AccessKey and SecretKey."]);
                }

                return new S3BlobStore(s3);
            }

            var storage = sp.GetRequiredService<IOptions<StorageOptions>>().Value;
            return new FileSystemBlobStore(new FileSystemBlobStoreOptions { RootDirectory = Path.Combine(Path.GetFullPath(storage.DataDirectory), "blobs") });
        });
        services.TryAddSingleton<IMediaStore>(sp => new SqliteMediaStore(sp.GetRequiredService<SqliteDatabase>())); // unless the PostgreSQL provider registered its own
        services.AddParleyMedia();
    }
}
