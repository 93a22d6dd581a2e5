using Microsoft.Extensions.Logging;
using Parley.Core.Social;

namespace Parley.Compat.OpenIM;

/// <summary>
/// A profile changed outside the user's own OpenIM session (Parley's admin API, an erasure): OpenIM's 1303
/// UserInfoUpdatedNotification to the user's live OpenIM connections on this node, so the SDK re-reads the profile and
/// raises <c>OnSelfInfoUpdated</c>, as after a change made through <c>/user/update_user_info</c>.
/// </summary>
internal sealed partial class OpenImProfileNotifier(IServiceProvider services, ILogger<OpenImProfileNotifier> logger) : IProfileChangeObserver
{
    public void OnProfileChanged(string userId) => _ = NotifyAsync(userId);

    private async Task NotifyAsync(string userId)
    {
        try
        {
            await OpenImRest.PushNoticeAsync(
                services, [userId], id => "n_" + id, OpenImMessages.SessionSingle, userId, OpenImRest.UserInfoUpdatedNotification,
                new Dictionary<string, object?> { ["userID"] = userId }, operationId: null).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            LogNotifyFailed(logger, ex, userId);
        }
    }

    [LoggerMessage(EventId = 5601, Level = LogLevel.Warning, Message = "The profile change of {UserId} could not be pushed to its OpenIM sessions")]
    private static partial void LogNotifyFailed(ILogger logger, Exception exception, string userId);
}
