using System.Diagnostics.Metrics;
using System.Net.WebSockets;
using Parley.Gateway.Connections;
using Parley.Gateway.Protocols;
using Parley.Protocol.V1;

namespace Parley.IntegrationTests;

/// <summary>
/// A live event whose version the connect-time sync already carried is not sent again, whether it arrives while the
/// sync runs (held, then skipped by EndSync) or after it (issue 11: in a cluster the release gate can hand out a
/// version seconds after its commit, so a connection that resumed meanwhile got it in its sync and then live; the kill
/// run under generator load counted 139 such duplicate deliveries).
/// </summary>
public sealed class ClientConnectionSyncTests
{
    [Fact]
    public void AVersionedEventAtOrBelowTheSyncedVersion_IsNotQueuedAgain_AfterTheSync_WhileNewerOnesAndUnversionedOnesAre()
    {
        using var socket = WebSocket.CreateFromStream(new MemoryStream(), new WebSocketCreationOptions { IsServer = true });
        using var connection = new ClientConnection(socket, "u1", "d1", Platform.Linux, "t1", long.MaxValue, 16);
        var frame = new WireFrame([1, 2, 3], Text: false);

        // While the sync runs, events are held; versions up to the sync's are dropped when it ends.
        Assert.Equal(EnqueueResult.Queued, connection.TryEnqueueEvent(frame, 9));
        Assert.Equal(EnqueueResult.Queued, connection.TryEnqueueEvent(frame, 11));
        Assert.False(connection.EndSync(10)); // no overflow

        // After it: a version the sync contained (released late by a node's release gate) is skipped, at and below it.
        Assert.Equal(EnqueueResult.AlreadySynced, connection.TryEnqueueEvent(frame, 10));
        Assert.Equal(EnqueueResult.AlreadySynced, connection.TryEnqueueEvent(frame, 3));
        Assert.Equal(EnqueueResult.Queued, connection.TryEnqueueEvent(frame, 12));
        Assert.Equal(EnqueueResult.Queued, connection.TryEnqueueEvent(frame, 0)); // ephemeral (typing): never versioned
    }

    [Fact]
    public void AConnectionThatResumedFromNothing_SkipsNothingAboveItsSync()
    {
        using var socket = WebSocket.CreateFromStream(new MemoryStream(), new WebSocketCreationOptions { IsServer = true });
        using var connection = new ClientConnection(socket, "u1", "d1", Platform.Linux, "t1", long.MaxValue, 16);
        var frame = new WireFrame([1], Text: false);
        Assert.False(connection.EndSync(0)); // no overflow
        Assert.Equal(EnqueueResult.Queued, connection.TryEnqueueEvent(frame, 1));
    }

    [Fact]
    public async Task EventsHeldByARequest_FollowItsAnswer_InOrder_AndNestedHoldsReleaseOnlyAtTheLast()
    {
        var wire = new MemoryStream();
        using var socket = WebSocket.CreateFromStream(wire, new WebSocketCreationOptions { IsServer = true });
        using var connection = new ClientConnection(socket, "u1", "d1", Platform.Linux, "t1", long.MaxValue, 16);
        Assert.False(connection.EndSync(5)); // no overflow
        var sendLoop = connection.RunSendLoopAsync();

        Assert.Equal(EnqueueResult.Queued, connection.TryEnqueueEvent(new WireFrame([1], Text: false), 6));
        connection.HoldEvents();
        connection.HoldEvents();
        Assert.Equal(EnqueueResult.Queued, connection.TryEnqueueEvent(new WireFrame([3], Text: false), 7)); // held
        Assert.Equal(EnqueueResult.Queued, connection.TryEnqueueEvent(new WireFrame([9], Text: false), 5)); // held, then dropped: the sync had it
        Assert.True(await connection.WriteWireAsync([2], text: false)); // the first request's answer
        Assert.False(connection.ReleaseEvents()); // no overflow
        Assert.Equal(EnqueueResult.Queued, connection.TryEnqueueEvent(new WireFrame([4], Text: false), 8)); // still held
        Assert.True(await connection.WriteWireAsync([5], text: false)); // the second answer, ahead of both held events
        Assert.False(connection.ReleaseEvents()); // no overflow
        Assert.Equal(EnqueueResult.Queued, connection.TryEnqueueEvent(new WireFrame([6], Text: false), 9));

        connection.Close(1000, "bye");
        await sendLoop;
        Assert.Equal(new[] { 1, 2, 5, 3, 4, 6 }, ReadFrames(wire.ToArray()));
    }

    [Fact]
    public void EventsHeldByARequest_BeyondTheOutbox_CloseTheConnectionOnRelease_CountedOnce()
    {
        using var meter = new Meter("test.overflows." + Guid.NewGuid().ToString("N"));
        var overflows = meter.CreateCounter<long>("overflows");
        long counted = 0;
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter == meter)
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<long>((_, value, _, _) => Interlocked.Add(ref counted, value));
        listener.Start();
        using var socket = WebSocket.CreateFromStream(new MemoryStream(), new WebSocketCreationOptions { IsServer = true });
        using var connection = new ClientConnection(socket, "u1", "d1", Platform.Linux, "t1", long.MaxValue, 2) { Overflows = overflows };
        Assert.False(connection.EndSync(0)); // no overflow
        Assert.Equal(EnqueueResult.Queued, connection.TryEnqueueEvent(new WireFrame([1], Text: false), 1)); // the outbox holds 1 of 2
        connection.HoldEvents();
        Assert.Equal(EnqueueResult.Queued, connection.TryEnqueueEvent(new WireFrame([2], Text: false), 2));
        Assert.Equal(EnqueueResult.Queued, connection.TryEnqueueEvent(new WireFrame([3], Text: false), 3));
        Assert.Equal(EnqueueResult.Overflow, connection.TryEnqueueEvent(new WireFrame([4], Text: false), 4)); // the held list is full too
        Assert.True(connection.ReleaseEvents()); // 2 fits the outbox, 3 does not: closed for it
        Assert.Equal(Parley.Protocol.CloseCodes.OutboxOverflow, connection.CloseCode);
        Assert.False(connection.CloseForOverflow()); // already closed
        Assert.Equal(1, Interlocked.Read(ref counted)); // the connection counted its own close, once
    }

    /// <summary>The first payload byte of each unmasked binary frame a server-side WebSocket wrote (one-byte payloads).</summary>
    private static List<int> ReadFrames(byte[] wire)
    {
        var frames = new List<int>();
        for (var i = 0; i + 2 < wire.Length && (wire[i] & 0x0F) == 0x2; i += 3)
        {
            Assert.Equal(1, wire[i + 1] & 0x7F);
            frames.Add(wire[i + 2]);
        }

        return frames;
    }
}
