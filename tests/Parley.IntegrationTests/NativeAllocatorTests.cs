using Parley.Hosting.Startup;

namespace Parley.IntegrationTests;

/// <summary>
/// Issue 17, stop 43 mem: the server caps glibc's malloc arenas at start (the soak's native memory grew in them), unless the
/// operator's MALLOC_ARENA_MAX says otherwise. In this process, against the real C library: mallopt must accept the
/// parameter (a wrong constant or a missing entry point leaves the cap at 0 and fails the first test).
/// </summary>
[Collection(nameof(NativeAllocatorTests))]
public sealed class NativeAllocatorTests
{
    [Fact]
    public void Apply_OnLinuxWithoutMallocArenaMax_CapsTheArenasAtTwo()
    {
        if (!OperatingSystem.IsLinux())
        {
            return; // glibc's mallopt is Linux's
        }

        var before = Environment.GetEnvironmentVariable("MALLOC_ARENA_MAX");
        try
        {
            Environment.SetEnvironmentVariable("MALLOC_ARENA_MAX", null);
            NativeAllocator.Apply();
            Assert.Equal(NativeAllocator.DefaultArenas, NativeAllocator.AppliedArenas);
        }
        finally
        {
            Environment.SetEnvironmentVariable("MALLOC_ARENA_MAX", before);
        }
    }

    [Fact]
    public void Apply_WithTheOperatorsMallocArenaMax_LeavesTheLibraryAlone()
    {
        var before = Environment.GetEnvironmentVariable("MALLOC_ARENA_MAX");
        try
        {
            Environment.SetEnvironmentVariable("MALLOC_ARENA_MAX", "4");
            NativeAllocator.Apply();
            Assert.Equal(0, NativeAllocator.AppliedArenas);
        }
        finally
        {
            Environment.SetEnvironmentVariable("MALLOC_ARENA_MAX", before);
        }
    }
}
