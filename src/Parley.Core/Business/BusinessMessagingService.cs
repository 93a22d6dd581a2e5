using Parley.Abstractions.Accounts;
using Parley.Abstractions.Admin;
using Parley.Abstractions.Business;
using Parley.Core.Messaging;
using Parley.Protocol;
using Parley.Protocol.V1;

namespace Parley.Core.Business;

/// <summary>One recipient's outcome of a batch send: the ack, or the refusal.</summary>
public sealed record BatchSendResult(string RecipientId, MessageAck? Ack, CoreError Error, string? Message);

/// <summary>
/// The app server's messaging (business API and OpenIM's app-server REST): sends as any user or notification account into a
/// 1:1 or group conversation through the same path as a client send (<see cref="MessagingService"/>: content rules, the
/// conversation grain's authorisation, seq, <c>clientMsgId</c> dedup, fan-out and push), batch sends with a result per
/// recipient, and the notification accounts. The caller is the app server (authorised by its edge); the sender is named
/// by the request, which is what the app-server credential allows and a user token never does.
/// </summary>
public sealed class BusinessMessagingService(
    MessagingService messaging,
    IAccountStore accounts,
    IAdminQueryStore users,
    INotificationAccountStore notificationAccounts,
    NotificationAccountIds notificationAccountIds,
    TimeProvider time,
    Delivery.IDeliveryHub hub)
{
    /// <summary>Recipients of one batch send.</summary>
    public const int MaxBatchRecipients = 10_000;

    /// <summary>Sends of one batch that run at once (each is a grain call and a group-commit slot).</summary>
    public const int BatchParallelism = 32;

    public const int MaxNicknameLength = 64;
    public const int MaxFaceUrlLength = 1024;

    /// <summary>OpenIM's <c>appMangerLevel</c> of a notification account (the default) and of a robot.</summary>
    public const int NotificationLevel = 3;
    public const int RobotLevel = 4;

    /// <summary>
    /// Sends <paramref name="content"/> as <paramref name="senderId"/> to the user <paramref name="recipientUserId"/> (their 1:1,
    /// created on first send) or into the conversation <paramref name="conversationId"/> (a group: the sender must be a member).
    /// A repeat with the same <paramref name="clientMsgId"/> answers the first ack and stores nothing.
    /// </summary>
    public async Task<CoreResult<MessageAck>> SendAsync(string senderId, string clientMsgId, string? recipientUserId, string? conversationId, Content? content, CancellationToken cancellationToken = default)
    {
        if (await CheckSenderAsync(senderId, cancellationToken).ConfigureAwait(false) is { } refused)
        {
            return refused;
        }

        if ((recipientUserId is null) == (conversationId is null))
        {
            return CoreResult.Fail(CoreError.InvalidArgument, "Name exactly one of a recipient user or a conversation.");
        }

        if (recipientUserId is not null && recipientUserId == senderId)
        {
            return CoreResult.Fail(CoreError.InvalidArgument, "The sender cannot send to itself.");
        }

        return await messaging.SendAsync(senderId, clientMsgId, recipientUserId, conversationId, content, null).ConfigureAwait(false);
    }

    /// <summary>
    /// Sends the same content as <paramref name="senderId"/> to each of <paramref name="recipientIds"/> (their 1:1s), with one
    /// result per distinct recipient in the order given. Each recipient's message has <paramref name="clientMsgId"/>, which is
    /// unique per conversation and sender: repeating the whole batch stores nothing new and answers the original acks.
    /// </summary>
    public async Task<CoreResult<IReadOnlyList<BatchSendResult>>> BatchSendAsync(string senderId, string clientMsgId, IReadOnlyList<string> recipientIds, Content? content, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(recipientIds);
        if (await CheckSenderAsync(senderId, cancellationToken).ConfigureAwait(false) is { } refused)
        {
            return refused;
        }

        return await SendToEachAsync(senderId, clientMsgId, recipientIds, content, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// A service notification (order shipped, password changed) from the notification account <paramref name="senderId"/> to
    /// each recipient: stored in their notification conversation (the account's 1:1) as <see cref="ServiceNotificationContent"/>
    /// and pushed in the service category (never delayed by quiet hours). <paramref name="idempotencyKey"/> is the messages'
    /// <c>clientMsgId</c>: a repeat stores and pushes nothing new.
    /// </summary>
    public async Task<CoreResult<IReadOnlyList<BatchSendResult>>> SendServiceNotificationAsync(string senderId, string idempotencyKey, IReadOnlyList<string> recipientIds, ServiceNotification notification, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(recipientIds);
        var content = ServiceNotificationContent.Build(notification, time.GetUtcNow().ToUnixTimeMilliseconds());
        if (!content.IsOk)
        {
            return content.Failure;
        }

        if (await CheckSenderAsync(senderId, cancellationToken).ConfigureAwait(false) is { } refused)
        {
            return refused;
        }

        if (await notificationAccounts.GetAsync(senderId, cancellationToken).ConfigureAwait(false) is null)
        {
            return CoreResult.Fail(CoreError.Forbidden, "Service notifications are sent by notification accounts only.");
        }

        return await SendToEachAsync(senderId, idempotencyKey, recipientIds, content.Value, cancellationToken).ConfigureAwait(false);
    }

    private async Task<CoreResult<IReadOnlyList<BatchSendResult>>> SendToEachAsync(string senderId, string clientMsgId, IReadOnlyList<string> recipientIds, Content? content, CancellationToken cancellationToken)
    {

        var distinct = recipientIds.Distinct(StringComparer.Ordinal).ToArray();
        if (distinct.Length is 0 or > MaxBatchRecipients)
        {
            return CoreResult.Fail(CoreError.InvalidArgument, $"A batch names 1..{MaxBatchRecipients} recipients.");
        }

        if (!Ids.IsValid(clientMsgId))
        {
            return CoreResult.Fail(CoreError.InvalidArgument, "client_msg_id must be 1..64 characters of [A-Za-z0-9-._@:].");
        }

        if (MessagingService.CheckContent(content) is { } invalid)
        {
            return invalid;
        }

        var results = new BatchSendResult[distinct.Length];
        await Parallel.ForEachAsync(
            Enumerable.Range(0, distinct.Length),
            new ParallelOptions { MaxDegreeOfParallelism = BatchParallelism, CancellationToken = cancellationToken },
            async (i, _) =>
            {
                var recipient = distinct[i];
                if (recipient == senderId || !Ids.IsValid(recipient))
                {
                    results[i] = new BatchSendResult(recipient, null, CoreError.InvalidArgument, "Not a valid recipient.");
                    return;
                }

                var sent = await messaging.SendAsync(senderId, clientMsgId, recipient, null, content, null).ConfigureAwait(false);
                results[i] = sent.IsOk
                    ? new BatchSendResult(recipient, sent.Value, CoreError.None, null)
                    : new BatchSendResult(recipient, null, sent.Error, sent.Failure.Message);
            }).ConfigureAwait(false);
        return CoreResult.Success<IReadOnlyList<BatchSendResult>>(results);
    }

    /// <summary>Creates a notification account (a user marked as one). <see cref="CoreError.AlreadyExists"/> when the id is taken by any user.</summary>
    public async Task<CoreResult<NotificationAccount>> CreateAccountAsync(string userId, string? nickname, string? faceUrl, int? level, CancellationToken cancellationToken = default)
    {
        if (!Ids.IsValid(userId))
        {
            return CoreResult.Fail(CoreError.InvalidArgument, "userId must be 1..64 characters of [A-Za-z0-9-._@:].");
        }

        if (CheckProfile(nickname, faceUrl) is { } invalid)
        {
            return invalid;
        }

        if (string.IsNullOrWhiteSpace(nickname))
        {
            return CoreResult.Fail(CoreError.InvalidArgument, "A notification account needs a nickname.");
        }

        var appLevel = level ?? NotificationLevel;
        if (appLevel is not (NotificationLevel or RobotLevel))
        {
            return CoreResult.Fail(CoreError.InvalidArgument, $"level must be {NotificationLevel} (notification account) or {RobotLevel} (robot).");
        }

        var now = time.GetUtcNow().ToUnixTimeMilliseconds();
        if (!await notificationAccounts.CreateAsync(new UserRecord(userId, nickname, faceUrl ?? string.Empty, string.Empty, now, now), appLevel, cancellationToken).ConfigureAwait(false))
        {
            return CoreResult.Fail(CoreError.AlreadyExists, "A user with this id exists already.");
        }

        notificationAccountIds.Added(userId);
        hub.PublishToAll(new Delivery.NotificationAccountAdded(userId)); // every other node of a cluster, at once
        return CoreResult.Success((await notificationAccounts.GetAsync(userId, cancellationToken).ConfigureAwait(false))!);
    }

    /// <summary>Changes a notification account's nickname and/or avatar (null = unchanged).</summary>
    public async Task<CoreResult<NotificationAccount>> UpdateAccountAsync(string userId, string? nickname, string? faceUrl, CancellationToken cancellationToken = default)
    {
        if (CheckProfile(nickname, faceUrl) is { } invalid)
        {
            return invalid;
        }

        if (nickname is not null && nickname.Trim().Length == 0)
        {
            return CoreResult.Fail(CoreError.InvalidArgument, "A notification account needs a nickname.");
        }

        if (!Ids.IsValid(userId) || await notificationAccounts.GetAsync(userId, cancellationToken).ConfigureAwait(false) is null)
        {
            return CoreResult.Fail(CoreError.NotFound, "No such notification account.");
        }

        var now = time.GetUtcNow().ToUnixTimeMilliseconds();
        await accounts.UpdateUserAsync(userId, nickname, faceUrl, null, now, cancellationToken).ConfigureAwait(false);
        return CoreResult.Success((await notificationAccounts.GetAsync(userId, cancellationToken).ConfigureAwait(false))!);
    }

    /// <summary>Notification accounts whose id or nickname contains <paramref name="keyword"/>, by id.</summary>
    public Task<NotificationAccountPage> SearchAccountsAsync(string? keyword, int? level, int offset, int limit, CancellationToken cancellationToken = default) =>
        notificationAccounts.SearchAsync(keyword, level, Math.Max(0, offset), Math.Clamp(limit, 1, 1000), cancellationToken);

    private async Task<CoreFailure?> CheckSenderAsync(string senderId, CancellationToken cancellationToken)
    {
        if (!Ids.IsValid(senderId))
        {
            return CoreResult.Fail(CoreError.InvalidArgument, "The sender must be a valid user id.");
        }

        var sender = await users.GetUserSummaryAsync(senderId, cancellationToken).ConfigureAwait(false);
        if (sender is null)
        {
            return CoreResult.Fail(CoreError.NotFound, "No such sender.");
        }

        return sender.DisabledAt is not null ? CoreResult.Fail(CoreError.Forbidden, "The sender is disabled.") : null;
    }

    private static CoreFailure? CheckProfile(string? nickname, string? faceUrl) =>
        (nickname?.Length ?? 0) > MaxNicknameLength || (faceUrl?.Length ?? 0) > MaxFaceUrlLength
            ? CoreResult.Fail(CoreError.InvalidArgument, $"nickname is at most {MaxNicknameLength} and faceUrl at most {MaxFaceUrlLength} characters.")
            : null;
}
