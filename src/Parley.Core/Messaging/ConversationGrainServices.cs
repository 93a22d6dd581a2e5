using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Parley.Abstractions.Accounts;
using Parley.Abstractions.Messaging;
using Parley.Core.Commit;
using Parley.Core.Delivery;
using Parley.Core.Groups;
using Parley.Core.Push;
using Parley.Core.Social;
using Parley.Core.Telemetry;

namespace Parley.Core.Messaging;

/// <summary>
/// The node's services every <see cref="ConversationGrain"/> uses, resolved once per node (a singleton) and held by each
/// activation as one reference. The grain took them as sixteen constructor parameters: sixteen service resolutions per
/// activation and sixteen fields in every live conversation grain (0.12 KB of an object of ~0.48 KB), and nearly every
/// message of a random-pairs load activates one (issue 17, stop 45).
/// </summary>
public sealed class ConversationGrainServices(
    IMessageStore store,
    IAccountStore accounts,
    CommitPipeline pipeline,
    IDeliveryHub hub,
    IOptions<MessagingOptions> options,
    TimeProvider time,
    ParleyMetrics metrics,
    ILogger<ConversationGrain> logger,
    IRelationReader relations,
    IEnumerable<IMessageCommittedObserver> committedObservers,
    IOptions<SocialOptions> social,
    IGroupStore groupStore,
    ISuperGroupStore superStore,
    Business.NotificationAccountIds notificationIds,
    Parley.Abstractions.Business.INotificationAccountStore notificationStore,
    IdleDirectConversations idleDirect,
    ShedDirectConversations shedDirect)
{
    public IMessageStore Store { get; } = store;

    public IAccountStore Accounts { get; } = accounts;

    public CommitPipeline Pipeline { get; } = pipeline;

    public IDeliveryHub Hub { get; } = hub;

    public MessagingOptions Options { get; } = options.Value;

    public TimeProvider Time { get; } = time;

    public ParleyMetrics Metrics { get; } = metrics;

    public ILogger<ConversationGrain> Logger { get; } = logger;

    public IRelationReader Relations { get; } = relations;

    /// <summary>The container's array as it is (a copy was one more array per active conversation).</summary>
    public IMessageCommittedObserver[] CommittedObservers { get; } = committedObservers as IMessageCommittedObserver[] ?? [.. committedObservers];

    /// <summary>Only friends may exchange 1:1 messages on this server.</summary>
    public bool FriendsOnly { get; } = social.Value.FriendsOnlyDirectMessages;

    public IGroupStore GroupStore { get; } = groupStore;

    public ISuperGroupStore SuperStore { get; } = superStore;

    public Business.NotificationAccountIds NotificationIds { get; } = notificationIds;

    public Parley.Abstractions.Business.INotificationAccountStore NotificationStore { get; } = notificationStore;

    public IdleDirectConversations IdleDirect { get; } = idleDirect;

    /// <summary>Shed 1:1 conversations' state for their next activation on this node (ADR 0033).</summary>
    public ShedDirectConversations ShedDirect { get; } = shedDirect;
}
