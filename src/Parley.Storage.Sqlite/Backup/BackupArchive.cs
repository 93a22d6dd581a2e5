using System.Formats.Tar;
using System.IO.Compression;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Parley.Storage.Sqlite.Backup;

/// <summary>
/// The backup archive of a Parley data directory: a gzip-compressed tar holding <c>parley-backup.json</c> (the
/// manifest, first), <c>parley.db</c> (a consistent copy made by <see cref="SqliteDatabase.BackupToAsync"/>), the key
/// files of the data directory (<c>token-signing.key</c>, <c>push-token.key</c>) and the media objects of the file
/// system store (<c>blobs/objects/…</c>). <see cref="RestoreAsync"/> unpacks one into a new, empty data directory.
/// </summary>
public static class BackupArchive
{
    public const string ManifestName = "parley-backup.json";
    public const string DatabaseName = "parley.db";
    public const int FormatVersion = 1;

    private const string ObjectsPrefix = "blobs/objects/";
    private static readonly string[] KeyFiles = ["token-signing.key", "push-token.key"];
    private const UnixFileMode OwnerFile = UnixFileMode.UserRead | UnixFileMode.UserWrite;
    private const UnixFileMode OwnerDirectory = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;

    /// <summary>
    /// Writes the archive to <paramref name="output"/>: the manifest, <paramref name="databaseCopy"/> as <c>parley.db</c>,
    /// the key files found in <paramref name="dataDirectory"/> and every object under <paramref name="blobRoot"/>/objects
    /// (null when media live in an object store of their own). Media objects are immutable once written, so an object
    /// the database copy refers to is complete; an object deleted by the sweeper between the copy and the walk is left
    /// out (the sweeper deletes only unreferenced objects) and counted in <see cref="BackupManifest.MissingObjects"/>.
    /// </summary>
    public static async Task<BackupManifest> WriteAsync(Stream output, BackupManifest manifest, string databaseCopy, string dataDirectory, string? blobRoot, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(manifest);
        var objects = new List<(string Name, string Path)>();
        if (blobRoot is not null && Directory.Exists(Path.Combine(blobRoot, "objects")))
        {
            var root = Path.GetFullPath(Path.Combine(blobRoot, "objects"));
            foreach (var file in Directory.EnumerateFiles(root, "*", SearchOption.AllDirectories))
            {
                objects.Add((ObjectsPrefix + Path.GetRelativePath(root, file).Replace(Path.DirectorySeparatorChar, '/'), file));
            }
        }

        var keys = KeyFiles.Where(k => File.Exists(Path.Combine(dataDirectory, k))).ToArray();
        var gzip = new GZipStream(output, CompressionLevel.Fastest, leaveOpen: true);
        await using (gzip.ConfigureAwait(false))
        {
            var tar = new TarWriter(gzip, TarEntryFormat.Pax, leaveOpen: true);
            await using (tar.ConfigureAwait(false))
            {
                // The manifest is written last into the archive's first entry: its counts are known only after the walk,
                // so the walk is done first (objects are listed, then written; a vanished one is counted as missing).
                var written = new List<(string Name, string Path)>();
                var missing = 0;
                foreach (var entry in objects)
                {
                    if (File.Exists(entry.Path))
                    {
                        written.Add(entry);
                    }
                    else
                    {
                        missing++;
                    }
                }

                var final = manifest with { FormatVersion = FormatVersion, Objects = written.Count, MissingObjects = missing, KeyFiles = keys };
                var json = JsonSerializer.SerializeToUtf8Bytes(final, BackupJsonContext.Default.BackupManifest);
                await WriteBytesAsync(tar, ManifestName, json, cancellationToken).ConfigureAwait(false);
                await WriteFileAsync(tar, DatabaseName, databaseCopy, cancellationToken).ConfigureAwait(false);
                foreach (var key in keys)
                {
                    await WriteFileAsync(tar, key, Path.Combine(dataDirectory, key), cancellationToken).ConfigureAwait(false);
                }

                foreach (var (name, path) in written)
                {
                    try
                    {
                        await WriteFileAsync(tar, name, path, cancellationToken).ConfigureAwait(false);
                    }
                    catch (FileNotFoundException)
                    {
                        // Swept after the listing: unreferenced by definition, so not needed by the copy.
                    }
                }

                return final;
            }
        }
    }

    /// <summary>
    /// Unpacks an archive into <paramref name="dataDirectory"/>, which must not exist or be empty (a restore never mixes
    /// with live data), then checks the restored database (integrity, schema not newer than this build). Every file is
    /// created owner-only. Entries outside the archive's layout (absolute paths, <c>..</c>, links, unknown names) are
    /// refused and nothing is left behind.
    /// </summary>
    /// <exception cref="InvalidDataException">The archive is not a Parley backup, is damaged, or its database fails the check.</exception>
    /// <exception cref="IOException">The target directory is not empty.</exception>
    public static async Task<RestoreResult> RestoreAsync(Stream input, string dataDirectory, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(input);
        ArgumentException.ThrowIfNullOrEmpty(dataDirectory);
        var target = Path.GetFullPath(dataDirectory);
        if (Directory.Exists(target) && Directory.EnumerateFileSystemEntries(target).Any())
        {
            throw new IOException($"The data directory '{target}' is not empty: restore into a new directory, then point Parley:Storage:DataDirectory at it.");
        }

        var created = !Directory.Exists(target);
        CreateDirectory(target);
        try
        {
            return await UnpackAsync(input, target, databaseOnly: false, cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            // Leave nothing half-restored behind.
            foreach (var entry in Directory.EnumerateFileSystemEntries(target))
            {
                if (Directory.Exists(entry))
                {
                    Directory.Delete(entry, recursive: true);
                }
                else
                {
                    File.Delete(entry);
                }
            }

            if (created)
            {
                Directory.Delete(target);
            }

            throw;
        }
    }

    /// <summary>
    /// Reads a whole archive as a restore would (gzip and tar checksums, manifest, layout, object count) and checks its
    /// database (unpacked alone into a temporary directory, then deleted), without writing the media anywhere.
    /// </summary>
    /// <exception cref="InvalidDataException">The archive is damaged, incomplete or not a Parley backup.</exception>
    public static async Task<RestoreResult> VerifyAsync(Stream input, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(input);
        var temp = Path.Combine(Path.GetTempPath(), "parley-verify-" + Guid.NewGuid().ToString("N"));
        CreateDirectory(temp);
        try
        {
            return await UnpackAsync(input, temp, databaseOnly: true, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            Directory.Delete(temp, recursive: true);
        }
    }

    private static async Task<RestoreResult> UnpackAsync(Stream input, string target, bool databaseOnly, CancellationToken cancellationToken)
    {
        BackupManifest? manifest = null;
        var objects = 0;
        long bytes = 0;
        var database = false;
        try
        {
            var gzip = new GZipStream(input, CompressionMode.Decompress, leaveOpen: true);
            await using (gzip.ConfigureAwait(false))
            {
                var tar = new TarReader(gzip, leaveOpen: true);
                await using (tar.ConfigureAwait(false))
                {
                    while (await tar.GetNextEntryAsync(copyData: false, cancellationToken).ConfigureAwait(false) is { } entry)
                    {
                        if (entry.EntryType is TarEntryType.Directory)
                        {
                            continue;
                        }

                        if (entry.EntryType is not (TarEntryType.RegularFile or TarEntryType.V7RegularFile) || entry.DataStream is null && entry.Length > 0)
                        {
                            throw new InvalidDataException($"The archive entry '{entry.Name}' is not a regular file.");
                        }

                        if (manifest is null)
                        {
                            if (entry.Name != ManifestName || entry.DataStream is null)
                            {
                                throw new InvalidDataException($"Not a Parley backup: its first entry is '{entry.Name}', not {ManifestName}.");
                            }

                            manifest = await JsonSerializer.DeserializeAsync(entry.DataStream, BackupJsonContext.Default.BackupManifest, cancellationToken).ConfigureAwait(false)
                                ?? throw new InvalidDataException("The backup manifest is empty.");
                            if (manifest.FormatVersion != FormatVersion)
                            {
                                throw new InvalidDataException($"The backup has format version {manifest.FormatVersion}; this Parley reads version {FormatVersion}.");
                            }

                            continue;
                        }

                        var path = Resolve(target, entry.Name);
                        objects += entry.Name.StartsWith(ObjectsPrefix, StringComparison.Ordinal) ? 1 : 0;
                        if (databaseOnly && entry.Name != DatabaseName)
                        {
                            if (entry.DataStream is not null)
                            {
                                await entry.DataStream.CopyToAsync(Stream.Null, cancellationToken).ConfigureAwait(false);
                            }

                            bytes += entry.Length;
                            continue;
                        }

                        CreateDirectory(Path.GetDirectoryName(path)!);
                        var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
                        if (!OperatingSystem.IsWindows())
                        {
                            options.UnixCreateMode = OwnerFile;
                        }

                        var file = new FileStream(path, options);
                        await using (file.ConfigureAwait(false))
                        {
                            if (entry.DataStream is not null)
                            {
                                await entry.DataStream.CopyToAsync(file, cancellationToken).ConfigureAwait(false);
                            }

                            await file.FlushAsync(cancellationToken).ConfigureAwait(false);
                            file.Flush(flushToDisk: true);
                            bytes += file.Length;
                        }

                        database |= entry.Name == DatabaseName;
                    }
                }
            }
        }
        catch (Exception e) when (e is EndOfStreamException or FormatException or JsonException)
        {
            throw new InvalidDataException($"The backup archive is damaged or not a Parley backup: {e.Message}", e);
        }

        if (manifest is null || !database)
        {
            throw new InvalidDataException("The backup archive is incomplete: " + (manifest is null ? "no manifest." : "no parley.db."));
        }

        if (objects != manifest.Objects)
        {
            throw new InvalidDataException($"The backup archive is incomplete: {objects} media objects, the manifest lists {manifest.Objects}.");
        }

        var status = await SqliteDatabase.VerifyFileAsync(Path.Combine(target, DatabaseName), cancellationToken).ConfigureAwait(false);
        return new RestoreResult(manifest, status, objects, bytes);
    }

    private static string Resolve(string target, string name)
    {
        var known = name == DatabaseName || KeyFiles.Contains(name)
            || (name.StartsWith(ObjectsPrefix, StringComparison.Ordinal) && name.Length > ObjectsPrefix.Length);
        if (!known || name.Contains('\\', StringComparison.Ordinal) || name.Split('/').Any(p => p is "" or "." or ".."))
        {
            throw new InvalidDataException($"The archive entry '{name}' is outside a Parley backup's layout.");
        }

        var path = Path.GetFullPath(Path.Combine(target, name));
        return path.StartsWith(target + Path.DirectorySeparatorChar, StringComparison.Ordinal)
            ? path
            : throw new InvalidDataException($"The archive entry '{name}' points outside the data directory.");
    }

    private static void CreateDirectory(string path)
    {
        if (OperatingSystem.IsWindows())
        {
            Directory.CreateDirectory(path);
        }
        else
        {
            Directory.CreateDirectory(path, OwnerDirectory);
        }
    }

    private static async Task WriteBytesAsync(TarWriter tar, string name, byte[] data, CancellationToken cancellationToken)
    {
        var entry = new PaxTarEntry(TarEntryType.RegularFile, name) { DataStream = new MemoryStream(data), Mode = OwnerFile, ModificationTime = DateTimeOffset.UnixEpoch };
        await tar.WriteEntryAsync(entry, cancellationToken).ConfigureAwait(false);
    }

    private static async Task WriteFileAsync(TarWriter tar, string name, string path, CancellationToken cancellationToken)
    {
        var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, 81920, useAsync: true);
        await using (file.ConfigureAwait(false))
        {
            var entry = new PaxTarEntry(TarEntryType.RegularFile, name) { DataStream = file, Mode = OwnerFile, ModificationTime = File.GetLastWriteTimeUtc(path) };
            await tar.WriteEntryAsync(entry, cancellationToken).ConfigureAwait(false);
        }
    }
}

/// <summary>What a backup holds.</summary>
/// <param name="CreatedAt">Unix milliseconds when the database copy was taken.</param>
/// <param name="FeedVersion">The highest committed version in the copy: every message acked before the backup started is at or below it.</param>
/// <param name="Provider">The storage provider of the server (Sqlite or Postgres; with Postgres the copy holds the SQLite part only).</param>
public sealed record BackupManifest(int FormatVersion, string ServerVersion, long CreatedAt, long FeedVersion, int SchemaVersion, string Provider, string MediaStore)
{
    public int Objects { get; init; }

    public int MissingObjects { get; init; }

    public IReadOnlyList<string> KeyFiles { get; init; } = [];
}

/// <summary>The outcome of a restore: the manifest, the restored database's schema state and counts.</summary>
public sealed record RestoreResult(BackupManifest Manifest, SqliteSchemaStatus Database, int Objects, long Bytes);

[JsonSourceGenerationOptions(JsonSerializerDefaults.Web)]
[JsonSerializable(typeof(BackupManifest))]
internal sealed partial class BackupJsonContext : JsonSerializerContext;
