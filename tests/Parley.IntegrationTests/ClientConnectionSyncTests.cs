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
        connection.EndSync(10, () => Assert.Fail("no overflow expected"));

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
        connection.EndSync(0, () => Assert.Fail("no overflow expected"));
        Assert.Equal(EnqueueResult.Queued, connection.TryEnqueueEvent(frame, 1));
    }
}
