using System.Globalization;
using System.Reflection;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Parley.Api.Admin;
using Parley.Api.Admin.Operators;
using Parley.Media;
using Parley.Storage.Sqlite;
using Parley.Storage.Sqlite.Backup;

namespace Parley.Hosting.Backup;

/// <summary>
/// <c>POST /admin/v1/backup</c>: an online backup streamed as a <c>.tar.gz</c> (see <see cref="BackupArchive"/>), taken
/// while the server keeps accepting messages. Admin secret or an operator token with the <c>data</c> scope; audited.
/// </summary>
internal static partial class BackupAdminApi
{
    private const string TempFolder = "backup-tmp";

    public static RouteGroupBuilder MapParleyBackupAdmin(this IEndpointRouteBuilder endpoints)
    {
        var group = endpoints.MapGroup("/admin/v1/backup").RequireParleyAdmin(OperatorScopes.Data);
        group.MapPost("", BackupAsync).WithName("backup.create").Produces(200, contentType: "application/gzip");
        return group;
    }

    private static async Task<IResult> BackupAsync(
        HttpContext http,
        SqliteDatabase database,
        IOptions<StorageOptions> storage,
        IOptions<MediaOptions> media,
        TimeProvider time,
        ILoggerFactory loggers,
        CancellationToken cancellationToken)
    {
        var logger = loggers.CreateLogger(typeof(BackupAdminApi).FullName!);
        var dataDirectory = Path.GetFullPath(storage.Value.DataDirectory);
        var temp = Path.Combine(dataDirectory, TempFolder, Guid.NewGuid().ToString("N") + ".db");
        var createdAt = time.GetUtcNow();
        long version;
        try
        {
            version = await database.BackupToAsync(temp, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is IOException or Microsoft.Data.Sqlite.SqliteException)
        {
            TryDelete(temp);
            LogBackupFailed(logger, e);
            return Results.Json(new ErrorResponse(new Parley.Api.Admin.ErrorBody("backup_failed", "The database copy failed: " + e.Message)), statusCode: 500);
        }

        var schema = (await SqliteDatabase.VerifyFileAsync(temp, cancellationToken).ConfigureAwait(false)).Applied;
        var blobRoot = media.Value.Store == "FileSystem" ? Path.Combine(dataDirectory, "blobs") : null;
        var manifest = new BackupManifest(
            BackupArchive.FormatVersion,
            typeof(BackupAdminApi).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "unknown",
            createdAt.ToUnixTimeMilliseconds(),
            version,
            schema.Count > 0 ? schema[^1] : 0,
            storage.Value.Provider.ToString(),
            media.Value.Store);
        AuditWriter.SetDetail(http, $"version={version} provider={manifest.Provider} media={manifest.MediaStore}");
        http.Response.Headers["X-Parley-Backup-Version"] = version.ToString(CultureInfo.InvariantCulture);
        var name = $"parley-backup-{createdAt.UtcDateTime:yyyyMMdd-HHmmss}.tar.gz";
        return Results.Stream(
            async body =>
            {
                try
                {
                    var written = await BackupArchive.WriteAsync(body, manifest, temp, dataDirectory, blobRoot, http.RequestAborted).ConfigureAwait(false);
                    LogBackupWritten(logger, version, written.Objects, written.MissingObjects);
                }
                finally
                {
                    TryDelete(temp);
                }
            },
            "application/gzip",
            name);
    }

    private static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (IOException)
        {
            // A leftover copy in backup-tmp is removed by the next start's clean-up.
        }
    }

    /// <summary>Removes copies a crash or a cut download left in the data directory's backup-tmp folder.</summary>
    internal static void CleanUp(string dataDirectory)
    {
        var folder = Path.Combine(Path.GetFullPath(dataDirectory), TempFolder);
        if (Directory.Exists(folder))
        {
            foreach (var file in Directory.EnumerateFiles(folder))
            {
                TryDelete(file);
            }
        }
    }

    [LoggerMessage(EventId = 9501, Level = LogLevel.Information, Message = "Backup written: feed version {Version}, {Objects} media objects ({Missing} swept during the backup)")]
    private static partial void LogBackupWritten(ILogger logger, long version, int objects, int missing);

    [LoggerMessage(EventId = 9502, Level = LogLevel.Error, Message = "Backup failed")]
    private static partial void LogBackupFailed(ILogger logger, Exception exception);
}
