using System.Collections.Frozen;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Parley.Abstractions.Business;

namespace Parley.Core.Business;

/// <summary>
/// The ids of the notification accounts, held in memory so that every edge can tell a notification conversation (a 1:1
/// with a notification account) from an ordinary 1:1 without a read on the delivery path: the native protocol's
/// <c>Conversation.notification</c> flag, OpenIM's session type 4 and <c>sn_…</c> conversation ids. Loaded before the node
/// serves (hosted-service start), added to at once when this node creates an account and, through the cluster's to-all
/// event path (<see cref="Delivery.NotificationAccountAdded"/>), within milliseconds on every other node; re-read every
/// <see cref="RefreshInterval"/> as well (a node that missed the event: it was starting, or a peer queue overflowed). An
/// ordinary user can never become a notification account (creating one over any existing user is refused), so the only
/// stale answer is "not yet" for an account another node created in the last moments. Authorisation never depends on
/// it alone: the conversation grain asks the store when this set does not know a user.
/// </summary>
public sealed partial class NotificationAccountIds(INotificationAccountStore store, ILogger<NotificationAccountIds> logger) : BackgroundService, Delivery.INodeBroadcastObserver
{
    public static readonly TimeSpan RefreshInterval = TimeSpan.FromSeconds(5);

    private const int Page = 1000;

    private readonly Lock _lock = new();
    private volatile FrozenSet<string> _ids = FrozenSet<string>.Empty;

    /// <summary>True when <paramref name="userId"/> is a notification account.</summary>
    public bool Contains(string? userId) => userId is not null && _ids.Contains(userId);

    /// <summary>True when the 1:1 conversation <paramref name="conversationId"/> has a notification account as a member.</summary>
    public bool IsNotificationConversation(string conversationId) =>
        _ids.Count > 0 && Parley.Protocol.Ids.TryParseDirectConversationId(conversationId, out var a, out var b) && (_ids.Contains(a) || _ids.Contains(b));

    /// <summary>Records an account this node has just created (visible at once, before the next refresh).</summary>
    public void Added(string userId)
    {
        lock (_lock)
        {
            if (!_ids.Contains(userId))
            {
                _ids = _ids.Append(userId).ToFrozenSet(StringComparer.Ordinal);
            }
        }
    }

    /// <summary>An account created on this node or another node of the cluster.</summary>
    public void OnBroadcast(Delivery.DeliveryEvent @event)
    {
        if (@event is Delivery.NotificationAccountAdded added)
        {
            Added(added.UserId);
        }
    }

    /// <summary>Reads every account id from the store.</summary>
    public async Task RefreshAsync(CancellationToken cancellationToken = default)
    {
        var all = new List<string>();
        for (var offset = 0; ; offset += Page)
        {
            var page = await store.SearchAsync(null, null, offset, Page, cancellationToken).ConfigureAwait(false);
            all.AddRange(page.Accounts.Select(a => a.UserId));
            if (page.Accounts.Count < Page)
            {
                break;
            }
        }

        var ids = all.ToFrozenSet(StringComparer.Ordinal);
        lock (_lock)
        {
            _ids = ids;
        }
    }

    public override async Task StartAsync(CancellationToken cancellationToken)
    {
        // Before the node serves, so its first conversations and pushes are already marked.
        await RefreshAsync(cancellationToken).ConfigureAwait(false);
        await base.StartAsync(cancellationToken).ConfigureAwait(false);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(RefreshInterval);
        while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false))
        {
            try
            {
                await RefreshAsync(stoppingToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                LogRefreshFailed(logger, ex);
            }
        }
    }

    [LoggerMessage(EventId = 5601, Level = LogLevel.Warning, Message = "The notification account ids could not be re-read; the last known set stays in use")]
    private static partial void LogRefreshFailed(ILogger logger, Exception exception);
}
