using Microsoft.Extensions.Logging;

namespace Parley.Compat.OpenIM.WebSocket;

/// <summary>
/// Log events of the OpenIM WebSocket edge (event ids 5101–5199; connection life and request failures are logged once by
/// the gateway's connection host). Never bodies, never tokens.
/// </summary>
internal static partial class OpenImLog
{
    [LoggerMessage(EventId = 5103, Level = LogLevel.Information, Message = "OpenIM handshake refused: {ErrCode} {Reason}")]
    public static partial void Refused(ILogger logger, int errCode, string reason);

    [LoggerMessage(EventId = 5106, Level = LogLevel.Warning, Message = "Friend notifications for OpenIM connection {ConnectionId} failed")]
    public static partial void RelationNotificationFailed(ILogger logger, Exception exception, string connectionId);

    [LoggerMessage(EventId = 5107, Level = LogLevel.Warning, Message = "The replay position of {UserId}'s ended OpenIM connection could not be saved")]
    public static partial void ResumeNotSaved(ILogger logger, Exception exception, string userId);
}
