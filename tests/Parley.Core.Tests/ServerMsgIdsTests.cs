using Parley.Core.Messaging;

namespace Parley.Core.Tests;

public sealed class ServerMsgIdsTests
{
    [Fact]
    public void New_IsAVersion7UuidInTheNForm_StampedWithTheGivenMillisecond()
    {
        var ms = new DateTimeOffset(2026, 12, 7, 6, 40, 0, 123, TimeSpan.Zero).ToUnixTimeMilliseconds();

        var id = ServerMsgIds.New(ms);

        Assert.Matches("^[0-9a-f]{32}$", id);
        var guid = Guid.ParseExact(id, "N");
        Assert.Equal(7, guid.Version);
        Assert.Equal(0b10, guid.Variant >> 2); // RFC 9562: the variant's top two bits are 10
        var bytes = guid.ToByteArray(bigEndian: true);
        var stamped = ((long)bytes[0] << 40) | ((long)bytes[1] << 32) | ((long)bytes[2] << 24) | ((long)bytes[3] << 16) | ((long)bytes[4] << 8) | bytes[5];
        Assert.Equal(ms, stamped);
    }

    [Fact]
    public void New_ManyWithinOneMillisecondOnSeveralThreads_AllDistinct_AndLaterMillisecondsSortAfter()
    {
        const long ms = 1_796_000_000_000;
        var ids = new System.Collections.Concurrent.ConcurrentBag<string>();
        Parallel.For(0, 4, _ =>
        {
            for (var i = 0; i < 50_000; i++)
            {
                ids.Add(ServerMsgIds.New(ms));
            }
        });

        Assert.Equal(200_000, ids.Distinct(StringComparer.Ordinal).Count());
        Assert.True(string.CompareOrdinal(ServerMsgIds.New(ms + 1), ids.Max(StringComparer.Ordinal)) > 0);
        Assert.True(string.CompareOrdinal(ServerMsgIds.New(ms - 1), ids.Min(StringComparer.Ordinal)) < 0);
    }
}
