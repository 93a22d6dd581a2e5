using System.Collections.Concurrent;

namespace Parley.Storage.Sqlite.Push;

/// <summary>
/// One in-process writer at a time per database file for the push stores. SQLite allows one writer anyway; without
/// this gate dozens of push workers busy-poll for the lock and a writer can starve past the busy timeout
/// ("database is locked") under load. With it they queue fairly and the busy timeout only covers other processes.
/// </summary>
internal static class PushWriteGate
{
    private static readonly ConcurrentDictionary<string, SemaphoreSlim> Gates = new(StringComparer.Ordinal);

    public static async Task<T> RunAsync<T>(string filePath, Func<Task<T>> write, CancellationToken cancellationToken)
    {
        var gate = Gates.GetOrAdd(filePath, _ => new SemaphoreSlim(1, 1));
        await gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            return await write().ConfigureAwait(false);
        }
        finally
        {
            gate.Release();
        }
    }
}
