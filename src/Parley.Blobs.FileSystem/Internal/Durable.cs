using System.Runtime.InteropServices;

namespace Parley.Blobs.FileSystem.Internal;

/// <summary>fsync of files and directories: a rename is durable only once its directory is synced.</summary>
internal static partial class Durable
{
    /// <summary>Flushes a directory's entries to disk (no-op on Windows, where NTFS journals metadata).</summary>
    public static void SyncDirectory(string directory)
    {
        if (OperatingSystem.IsWindows())
        {
            return;
        }

        var fd = Open(directory, 0);
        if (fd < 0)
        {
            throw new IOException($"Cannot open directory '{directory}' to sync it (errno {Marshal.GetLastPInvokeError()}).");
        }

        try
        {
            if (Fsync(fd) != 0)
            {
                throw new IOException($"fsync of directory '{directory}' failed (errno {Marshal.GetLastPInvokeError()}).");
            }
        }
        finally
        {
            _ = Close(fd);
        }
    }

    /// <summary>Moves a synced temp file into place and syncs the target directory.</summary>
    public static void Publish(string tempPath, string finalPath)
    {
        var directory = Path.GetDirectoryName(finalPath)!;
        Directory.CreateDirectory(directory);
        File.Move(tempPath, finalPath, overwrite: true);
        SyncDirectory(directory);
    }

    [LibraryImport("libc", EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Open(string path, int flags);

    [LibraryImport("libc", EntryPoint = "fsync", SetLastError = true)]
    private static partial int Fsync(int fd);

    [LibraryImport("libc", EntryPoint = "close", SetLastError = true)]
    private static partial int Close(int fd);
}
