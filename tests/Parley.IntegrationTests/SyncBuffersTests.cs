using Parley.Gateway.Protocols;

namespace Parley.IntegrationTests;

/// <summary>
/// Stop 40: the connect-time sync's buffers come from a pool of their own (<see cref="SyncBuffers"/>), which keeps up to
/// 64 arrays of each size up to 64 KB (the shared pool keeps 32 per core and ran dry under a login storm on one core), and
/// hands larger ones to the shared pool. The sync's frames themselves are checked byte for byte by SyncRowEncoderTests and
/// SyncBatchEncoderTests, which now rent and return through it.
/// </summary>
public sealed class SyncBuffersTests
{
    [Fact]
    public void Pool_KeepsSixtyFourArraysOfASize_AndHandsThemOutAgain()
    {
        // 64 rented at once (more than the shared pool keeps on one core), returned, then rented again: the same arrays.
        var first = Enumerable.Range(0, SyncBuffers.ArraysPerSize).Select(_ => SyncBuffers.Pool.Rent(20_000)).ToArray();
        Assert.All(first, a => Assert.Equal(32 * 1024, a.Length));
        foreach (var a in first)
        {
            SyncBuffers.Pool.Return(a);
        }

        // Other tests' syncs may take a few of them in between (they run in parallel): at least 40 come back, more than
        // the 32 the shared pool keeps per core.
        var again = Enumerable.Range(0, SyncBuffers.ArraysPerSize).Select(_ => SyncBuffers.Pool.Rent(30_000)).ToArray();
        Assert.Equal(SyncBuffers.ArraysPerSize, first.Distinct(ReferenceEqualityComparer.Instance).Count());
        Assert.InRange(again.Count(a => first.Contains(a, ReferenceEqualityComparer.Instance)), 40, SyncBuffers.ArraysPerSize);
        foreach (var a in again)
        {
            SyncBuffers.Pool.Return(a);
        }
    }

    [Fact]
    public void Pool_LargerThan64KB_IsTheSharedPoolsAndEmptyReturnsAreIgnored()
    {
        var big = SyncBuffers.Pool.Rent(SyncBuffers.MaxPooledLength + 1);
        Assert.True(big.Length > SyncBuffers.MaxPooledLength);
        SyncBuffers.Pool.Return(big); // to the shared pool: no exception
        SyncBuffers.Pool.Return(SyncBuffers.Pool.Rent(0));
        Assert.Throws<ArgumentNullException>(() => SyncBuffers.Pool.Return(null!));
    }
}
