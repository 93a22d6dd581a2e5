using System.Runtime.InteropServices;

namespace Parley.Hosting.Startup;

/// <summary>
/// Caps the C library's malloc arenas before the server starts (glibc's <c>M_ARENA_MAX</c>), unless the operator set
/// <c>MALLOC_ARENA_MAX</c> themselves. Native memory is SQLite's (page caches, statements, the rows a read steps through)
/// and the runtime's own; glibc gives a thread that finds the arenas busy an arena of its own, up to eight per core, each
/// growing in 64 MiB heaps that it rarely gives back. Under a 1:1 soak the thread pool's threads all read SQLite, and the
/// arenas' resident memory grew with the soak where SQLite's own use is bounded by its page caches (issue 17, stop 43 mem:
/// docs/performance.md).
/// </summary>
public static partial class NativeAllocator
{
    /// <summary>The arenas the server keeps when the environment does not say: two (the main one and one more).</summary>
    public const int DefaultArenas = 2;

    private const int MArenaMax = -8; // glibc's malloc.h

    /// <summary>
    /// The arena cap in effect after <see cref="Apply"/>: the one applied, or 0 when it was left alone (set in the
    /// environment, not Linux, or a C library without <c>mallopt</c>'s <c>M_ARENA_MAX</c>, such as musl).
    /// </summary>
    public static int AppliedArenas { get; private set; }

    /// <summary>Applies <see cref="DefaultArenas"/> once, first thing in the process; never throws.</summary>
    public static void Apply()
    {
        AppliedArenas = 0;
        if (!OperatingSystem.IsLinux() || Environment.GetEnvironmentVariable("MALLOC_ARENA_MAX") is { Length: > 0 })
        {
            return;
        }

        try
        {
            // mallopt returns 1 on success, 0 for a parameter the library does not know.
            AppliedArenas = MallOpt(MArenaMax, DefaultArenas) == 1 ? DefaultArenas : 0;
        }
        catch (Exception ex) when (ex is DllNotFoundException or EntryPointNotFoundException)
        {
            // Not glibc: its own allocator, left as it is.
        }
    }

    [LibraryImport("libc", EntryPoint = "mallopt")]
    private static partial int MallOpt(int parameter, int value);
}
