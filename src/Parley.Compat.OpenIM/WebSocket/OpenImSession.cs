using Parley.Core.Delivery;
using Parley.Gateway.Connections;
using Parley.Gateway.Protocols;

namespace Parley.Compat.OpenIM.WebSocket;

/// <summary>
/// One OpenIM connection: answers the client's requests (<see cref="OpenImSession"/>.Requests.cs) and sends the
/// friend notifications that need a per-user read; every other event is encoded once for all OpenIM connections by
/// <see cref="OpenImProtocol"/>.
/// </summary>
internal sealed partial class OpenImSession : IConnectionEvents, IConnectionHandler<OpenImRequest>
{
    private readonly OpenImServices _services;
    private readonly Lock _lock = new();
    private readonly RelationCursor _relationCursor = new();
    private Task _relationChain = Task.CompletedTask;
    private ClientConnection? _connection;

    private readonly bool _handshakeResult;

    public OpenImSession(OpenImServices services, string userId, int platformId, string operationId, bool handshakeResult)
    {
        _services = services;
        _handshakeResult = handshakeResult;
        UserId = userId;
        PlatformId = platformId;
        OperationId = operationId;
    }

    public string UserId { get; }

    public int PlatformId { get; }

    /// <summary>The operationID of the connect; pushes carry it like OpenIM's gateway does.</summary>
    public string OperationId { get; }

    public ClientConnection Connection => _connection ?? throw new InvalidOperationException("The session has no connection yet.");

    public void Attach(ClientConnection connection) => _connection = connection;

    /// <summary>Events OpenIM encodes per connection: friend notifications, which read the change behind the event.</summary>
    public void OnEvent(DeliveryEvent @event)
    {
        if (@event is RelationsChanged relations)
        {
            QueueRelationNotifications((ulong)relations.Version);
        }
    }

    /// <summary>Friend notifications need a read of the relation change; they follow on the outbox once read, in order.</summary>
    private void QueueRelationNotifications(ulong version)
    {
        var notifier = _services.RelationNotifier;
        if (_connection is null)
        {
            return;
        }

        lock (_lock)
        {
            _relationChain = _relationChain.ContinueWith(
                _ => SendRelationNotificationsAsync(notifier, version),
                CancellationToken.None,
                TaskContinuationOptions.None,
                TaskScheduler.Default).Unwrap();
        }
    }

    private async Task SendRelationNotificationsAsync(OpenImRelationNotifier notifier, ulong version)
    {
        try
        {
            var push = await notifier.OnRelationsChangedAsync(UserId, version, _relationCursor).ConfigureAwait(false);
            if (push is not null && _connection is { IsClosing: false } connection)
            {
                var frame = OpenImProtocol.Push(push, OperationId);
                await connection.WriteWireAsync(frame.Bytes, frame.Text).ConfigureAwait(false);
            }
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            OpenImLog.RelationNotificationFailed(_services.Logger, ex, _connection?.Id ?? string.Empty);
        }
    }
}
