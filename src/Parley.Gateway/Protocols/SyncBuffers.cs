using System.Buffers;

namespace Parley.Gateway.Protocols;

/// <summary>
/// The connect-time sync's byte buffers: <see cref="SyncRowEncoder"/>'s row buffer and both encoders' <c>SyncBatch</c> frames,
/// which the connection returns here once written (<see cref="Connections.ClientConnection.WritePooledAsync"/>). Buffers of up
/// to <see cref="MaxPooledLength"/> come from a pool of their own holding up to <see cref="ArraysPerSize"/> arrays per size;
/// larger ones from <see cref="ArrayPool{T}.Shared"/>. A fresh login holds two of them (the rows, then the frame: 16–32 KB
/// each for 10 conversations of 21 messages) while dozens of logins are in flight, and the shared pool keeps 32 arrays per
/// size and core: on a server pinned to one core it ran dry and a fresh login allocated 2–6 KB of new arrays (issue 17,
/// stop 40; 0 with the shared pool's limit raised). What this pool can keep is bounded: 64 arrays of each size from 16 B to
/// 64 KB, at most 8 MB, and only once that many syncs ran at the same time.
/// </summary>
internal sealed class SyncBuffers : ArrayPool<byte>
{
    /// <summary>The largest buffer this pool keeps; larger ones go to the shared pool.</summary>
    public const int MaxPooledLength = 64 * 1024;

    /// <summary>The buffers of one size it keeps.</summary>
    public const int ArraysPerSize = 64;

    private static readonly ArrayPool<byte> Own = Create(MaxPooledLength, ArraysPerSize);

    private SyncBuffers()
    {
    }

    /// <summary>The pool every sync buffer is rented from and returned to.</summary>
    public static SyncBuffers Pool { get; } = new();

    public override byte[] Rent(int minimumLength) =>
        minimumLength <= MaxPooledLength ? Own.Rent(minimumLength) : Shared.Rent(minimumLength);

    public override void Return(byte[] array, bool clearArray = false)
    {
        ArgumentNullException.ThrowIfNull(array);
        if (array.Length == 0)
        {
            return; // Rent(0)'s empty array
        }

        if (array.Length <= MaxPooledLength)
        {
            Own.Return(array, clearArray);
        }
        else
        {
            Shared.Return(array, clearArray);
        }
    }
}
