using System.Buffers.Binary;

namespace Parley.Core.Messaging;

/// <summary>
/// A message's server id: a version-7 UUID (48 bits of Unix milliseconds, then 74 random bits) as 32 lower-case hex
/// characters, the form <c>Guid.CreateVersion7().ToString("N")</c> gives. Its random bits come from
/// <see cref="Random.Shared"/> (a per-thread generator seeded from the OS), not from <c>Guid.NewGuid</c>: on this glibc
/// that read <c>/dev/urandom</c> once per message, a system call that was 0.6 % of the warm 1:1 send's CPU (issue 17,
/// stop 43). The id is unique (74 random bits within one millisecond; the store's key is the conversation's seq, not this
/// id) but not unguessable, which it never had to be: it names a message to the members who can read it.
/// </summary>
public static class ServerMsgIds
{
    /// <summary>A new id stamped with <paramref name="unixMilliseconds"/>.</summary>
    public static string New(long unixMilliseconds)
    {
        Span<byte> bytes = stackalloc byte[16];
        var random = Random.Shared;
        BinaryPrimitives.WriteInt64BigEndian(bytes, unixMilliseconds << 16); // 48 bits of time in bytes 0..5
        BinaryPrimitives.WriteUInt16BigEndian(bytes[6..], (ushort)random.Next(1 << 16));
        BinaryPrimitives.WriteInt64BigEndian(bytes[8..], random.NextInt64());
        bytes[6] = (byte)(0x70 | (bytes[6] & 0x0F)); // version 7
        bytes[8] = (byte)(0x80 | (bytes[8] & 0x3F)); // RFC 9562 variant
        return new Guid(bytes, bigEndian: true).ToString("N");
    }
}
