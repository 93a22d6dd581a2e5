using Parley.Abstractions.Messaging;
using Parley.Protocol.V1;
using ConversationKind = Parley.Abstractions.Messaging.ConversationKind;

namespace Parley.Core.Push;

/// <summary>
/// Hears about every committed message, on the commit dispatch loop right after live delivery; the offline-push
/// bridge implements it. Must not block: queue the work.
/// </summary>
public interface IMessageCommittedObserver
{
    /// <param name="message">The committed message.</param>
    /// <param name="recipients">The conversation's active members at the message (the sender included).</param>
    /// <param name="kind">Direct or group.</param>
    /// <param name="conversationName">The group's name; empty for direct conversations.</param>
    void OnMessageCommitted(StoredMessage message, IReadOnlyList<string> recipients, ConversationKind kind, string conversationName);

    /// <summary>
    /// A message of a read-diffusion group (ADR 0017) committed. No member list comes with it: the observer learns who
    /// is addressed from the message (mentions, mention-all) and <paramref name="replyRootSenderId"/>, and must never
    /// enumerate the group's members on this path (docs/push.md §8).
    /// </summary>
    /// <param name="message">The committed message (mentions and mention-all as checked by the grain).</param>
    /// <param name="conversationName">The group's name.</param>
    /// <param name="replyRootSenderId">For a reply: the author of the message it replies to; otherwise null.</param>
    void OnReadDiffusionMessageCommitted(StoredMessage message, string conversationName, string? replyRootSenderId)
    {
    }
}

/// <summary>Device registration and push reports from clients (optional, injected as <see cref="Optional{T}"/>; UNSUPPORTED when absent).</summary>
public interface IPushClientApi
{
    /// <summary>Registers or updates the caller's device.</summary>
    Task<CoreResult> RegisterDeviceAsync(string userId, string deviceId, Platform platform, RegisterDeviceRequest request, CancellationToken cancellationToken = default);

    Task<CoreResult> UnregisterDeviceAsync(string userId, string deviceId, CancellationToken cancellationToken = default);

    /// <summary>The device connected: refresh its last-seen time (stale devices are not pushed).</summary>
    Task TouchDeviceAsync(string userId, string deviceId, CancellationToken cancellationToken = default);

    /// <summary>Changes the caller's do-not-disturb and privacy settings.</summary>
    Task<CoreResult> UpdateSettingsAsync(string userId, UpdatePushSettingsRequest request, CancellationToken cancellationToken = default);

    /// <summary>Records an arrival or click of one of the caller's pushes; <see cref="CoreError.NotFound"/> for unknown or foreign pushes.</summary>
    Task<CoreResult> ReportAsync(string userId, PushReportRequest report, CancellationToken cancellationToken = default);
}
