using Microsoft.Extensions.Logging;

namespace Parley.Compat.OpenIM.WebSocket;

/// <summary>Log events of the OpenIM WebSocket edge (event ids 5101–5199). Never bodies, never tokens.</summary>
internal static partial class OpenImLog
{
    [LoggerMessage(EventId = 5101, Level = LogLevel.Debug, Message = "OpenIM connection {ConnectionId} of user {UserId} opened (platform {PlatformId})")]
    public static partial void Connected(ILogger logger, string connectionId, string userId, int platformId);

    [LoggerMessage(EventId = 5102, Level = LogLevel.Debug, Message = "OpenIM connection {ConnectionId} of user {UserId} closed ({CloseCode})")]
    public static partial void Disconnected(ILogger logger, string connectionId, string userId, int closeCode);

    [LoggerMessage(EventId = 5103, Level = LogLevel.Information, Message = "OpenIM handshake refused: {ErrCode} {Reason}")]
    public static partial void Refused(ILogger logger, int errCode, string reason);

    [LoggerMessage(EventId = 5104, Level = LogLevel.Error, Message = "OpenIM request {ReqIdentifier} on connection {ConnectionId} failed")]
    public static partial void RequestFailed(ILogger logger, Exception exception, int reqIdentifier, string connectionId);

    [LoggerMessage(EventId = 5105, Level = LogLevel.Error, Message = "OpenIM connection {ConnectionId} failed")]
    public static partial void ConnectionFailed(ILogger logger, Exception exception, string connectionId);

    [LoggerMessage(EventId = 5106, Level = LogLevel.Warning, Message = "Friend notifications for OpenIM connection {ConnectionId} failed")]
    public static partial void RelationNotificationFailed(ILogger logger, Exception exception, string connectionId);

    [LoggerMessage(EventId = 5107, Level = LogLevel.Information, Message = "OpenIM connection {ConnectionId} closed: {Reason}")]
    public static partial void ProtocolClose(ILogger logger, string connectionId, string reason);
}
