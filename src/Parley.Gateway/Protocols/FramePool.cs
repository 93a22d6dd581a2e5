using System.Buffers;

namespace Parley.Gateway.Protocols;

/// <summary>
/// The arrays of live frames made for one connection (<see cref="IWireProtocol.RentFrame"/>): rented on the commit's dispatch
/// thread, returned by the connection's send loop on another thread. <see cref="ArrayPool{T}.Shared"/> keeps returned arrays
/// per thread and per core first, so an array returned by a send loop was often not found by the next rent on the dispatch
/// thread: a third of the frames were new arrays all the same (0.16 KB of every fixed-pair send; issue 17, stop 44). This
/// pool's buckets are shared by all threads (a lock each), hold at most <see cref="ArraysPerBucket"/> arrays, and take
/// frames up to <see cref="MaxFrame"/> bytes (a larger one is a new array, dropped after its write).
/// </summary>
internal static class FramePool
{
    /// <summary>The largest array the pool keeps (a frame of a larger message is allocated and not kept).</summary>
    public const int MaxFrame = 16 * 1024;

    /// <summary>How many arrays of one size the pool keeps (at most ~8 MB over all sizes).</summary>
    public const int ArraysPerBucket = 256;

    public static readonly ArrayPool<byte> Live = ArrayPool<byte>.Create(MaxFrame, ArraysPerBucket);
}
