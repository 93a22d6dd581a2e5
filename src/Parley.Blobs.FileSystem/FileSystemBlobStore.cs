using System.Globalization;
using System.Security.Cryptography;
using Parley.Abstractions.Blobs;
using Parley.Blobs.FileSystem.Internal;

namespace Parley.Blobs.FileSystem;

/// <summary>
/// Blob store on the local filesystem. Every object and every part is written to a temp file, fsync'd, renamed into
/// place and its directory fsync'd, so a crash leaves either the whole new file or the previous state, never a torn
/// one, and a completed write survives power loss.
/// </summary>
public sealed class FileSystemBlobStore : IBlobStore
{
    private const int BufferSize = 128 * 1024;
    private readonly string _objects;
    private readonly string _multipart;
    private readonly string _tmp;

    public FileSystemBlobStore(FileSystemBlobStoreOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (string.IsNullOrWhiteSpace(options.RootDirectory))
        {
            throw new ArgumentException("FileSystemBlobStoreOptions.RootDirectory is required.", nameof(options));
        }

        var root = Path.GetFullPath(options.RootDirectory);
        _objects = Path.Combine(root, "objects");
        _multipart = Path.Combine(root, "multipart");
        _tmp = Path.Combine(root, "tmp");
        Directory.CreateDirectory(_objects);
        Directory.CreateDirectory(_multipart);
        Directory.CreateDirectory(_tmp);

        // Temp files of writes a crash interrupted are garbage: nothing refers to them.
        foreach (var stale in Directory.EnumerateFiles(_tmp))
        {
            TryDelete(stale);
        }
    }

    public async Task PutAsync(string key, Stream content, long length, CancellationToken cancellationToken = default)
    {
        BlobKeys.Validate(key);
        ArgumentNullException.ThrowIfNull(content);
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        var temp = await WriteTempAsync(content, length, cancellationToken).ConfigureAwait(false);
        Durable.Publish(temp, ObjectPath(key));
    }

    public Task<long?> GetLengthAsync(string key, CancellationToken cancellationToken = default)
    {
        BlobKeys.Validate(key);
        var info = new FileInfo(ObjectPath(key));
        return Task.FromResult(info.Exists ? info.Length : (long?)null);
    }

    public Task<Stream?> OpenReadAsync(string key, long offset = 0, long? length = null, CancellationToken cancellationToken = default)
    {
        BlobKeys.Validate(key);
        ArgumentOutOfRangeException.ThrowIfNegative(offset);
        FileStream file;
        try
        {
            file = new FileStream(ObjectPath(key), FileMode.Open, FileAccess.Read, FileShare.Read | FileShare.Delete, BufferSize, FileOptions.Asynchronous | FileOptions.SequentialScan);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            return Task.FromResult<Stream?>(null);
        }

        var available = Math.Max(0, file.Length - offset);
        file.Position = Math.Min(offset, file.Length);
        return Task.FromResult<Stream?>(new RangeStream(file, length is { } l ? Math.Min(l, available) : available));
    }

    public Task DeleteAsync(string key, CancellationToken cancellationToken = default)
    {
        BlobKeys.Validate(key);
        TryDelete(ObjectPath(key));
        return Task.CompletedTask;
    }

    public Task<string> StartMultipartAsync(string key, CancellationToken cancellationToken = default)
    {
        BlobKeys.Validate(key);
        var uploadId = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16));
        var directory = Path.Combine(_multipart, uploadId);
        Directory.CreateDirectory(directory);
        Durable.SyncDirectory(_multipart);
        return Task.FromResult(uploadId);
    }

    public async Task<BlobPart> PutPartAsync(string key, string uploadId, int partNumber, Stream content, long length, CancellationToken cancellationToken = default)
    {
        BlobKeys.Validate(key);
        ArgumentNullException.ThrowIfNull(content);
        ArgumentOutOfRangeException.ThrowIfLessThan(partNumber, 1);
        var directory = UploadDirectory(uploadId);
        if (!Directory.Exists(directory))
        {
            throw new BlobNotFoundException("No such multipart upload.");
        }

        var temp = await WriteTempAsync(content, length, cancellationToken).ConfigureAwait(false);
        if (!Directory.Exists(directory))
        {
            // Aborted while the part was being written.
            TryDelete(temp);
            throw new BlobNotFoundException("No such multipart upload.");
        }

        Durable.Publish(temp, PartPath(directory, partNumber));
        return new BlobPart(partNumber, length, partNumber.ToString(CultureInfo.InvariantCulture));
    }

    public async Task CompleteMultipartAsync(string key, string uploadId, IReadOnlyList<BlobPart> parts, CancellationToken cancellationToken = default)
    {
        BlobKeys.Validate(key);
        ArgumentNullException.ThrowIfNull(parts);
        var directory = UploadDirectory(uploadId);
        var target = ObjectPath(key);
        if (!Directory.Exists(directory))
        {
            if (File.Exists(target))
            {
                return;
            }

            throw new BlobNotFoundException("No such multipart upload.");
        }

        var temp = Path.Combine(_tmp, Guid.NewGuid().ToString("N"));
        try
        {
            var output = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, BufferSize, FileOptions.Asynchronous);
            await using (output.ConfigureAwait(false))
            {
                foreach (var part in parts)
                {
                    var path = PartPath(directory, part.PartNumber);
                    FileStream input;
                    try
                    {
                        input = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, BufferSize, FileOptions.Asynchronous | FileOptions.SequentialScan);
                    }
                    catch (FileNotFoundException)
                    {
                        throw new BlobNotFoundException($"Part {part.PartNumber} was never stored.");
                    }

                    await using (input.ConfigureAwait(false))
                    {
                        if (input.Length != part.Length)
                        {
                            throw new BlobLengthMismatchException($"Part {part.PartNumber} has {input.Length} bytes, not {part.Length}.");
                        }

                        await input.CopyToAsync(output, BufferSize, cancellationToken).ConfigureAwait(false);
                    }
                }

                output.Flush(flushToDisk: true);
            }

            Durable.Publish(temp, target);
        }
        catch
        {
            TryDelete(temp);
            throw;
        }

        // The object is durable; only now may the parts go. A crash before this line leaves an upload that a retry completes again.
        Directory.Delete(directory, recursive: true);
    }

    public Task AbortMultipartAsync(string key, string uploadId, CancellationToken cancellationToken = default)
    {
        BlobKeys.Validate(key);
        var directory = UploadDirectory(uploadId);
        try
        {
            Directory.Delete(directory, recursive: true);
        }
        catch (DirectoryNotFoundException)
        {
            // Already gone.
        }

        return Task.CompletedTask;
    }

    public Uri? GetDirectDownloadUrl(string key, DateTimeOffset expiresAt, string contentType, string contentDisposition) => null;

    private async Task<string> WriteTempAsync(Stream content, long length, CancellationToken cancellationToken)
    {
        var temp = Path.Combine(_tmp, Guid.NewGuid().ToString("N"));
        try
        {
            var output = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, BufferSize, FileOptions.Asynchronous);
            await using (output.ConfigureAwait(false))
            {
                var buffer = new byte[BufferSize];
                long total = 0;
                int read;
                while ((read = await content.ReadAsync(buffer, cancellationToken).ConfigureAwait(false)) > 0)
                {
                    total += read;
                    if (total > length)
                    {
                        throw new BlobLengthMismatchException($"The content is longer than the declared {length} bytes.");
                    }

                    await output.WriteAsync(buffer.AsMemory(0, read), cancellationToken).ConfigureAwait(false);
                }

                if (total != length)
                {
                    throw new BlobLengthMismatchException($"The content has {total} bytes, not the declared {length}.");
                }

                output.Flush(flushToDisk: true);
            }

            return temp;
        }
        catch
        {
            TryDelete(temp);
            throw;
        }
    }

    private string ObjectPath(string key) => Path.Combine(_objects, key.Replace('/', Path.DirectorySeparatorChar));

    private string UploadDirectory(string uploadId)
    {
        if (uploadId is not { Length: 32 } || !uploadId.All(char.IsAsciiHexDigitLower))
        {
            throw new BlobNotFoundException("No such multipart upload.");
        }

        return Path.Combine(_multipart, uploadId);
    }

    private static string PartPath(string uploadDirectory, int partNumber) =>
        Path.Combine(uploadDirectory, partNumber.ToString("D5", CultureInfo.InvariantCulture));

    private static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (IOException)
        {
            // Best effort: a leftover temp file is removed on the next start.
        }
        catch (UnauthorizedAccessException)
        {
            // Same.
        }
    }
}
