using Parley.Protocol.V1;

namespace Parley.Sdk;

public sealed partial class ParleyClient
{
    /// <summary>Registers (or updates) this device for offline push with its vendor token.</summary>
    /// <param name="request">Vendor, token, app id, sandbox flag, whether notifications are enabled, locale and time zone.</param>
    /// <param name="cancellationToken">Cancels the wait for the result.</param>
    public Task RegisterDeviceAsync(RegisterDeviceRequest request, CancellationToken cancellationToken = default) =>
        InvokeOkAsync(new ClientFrame { RegisterDevice = request }, cancellationToken);

    /// <summary>Stops offline push to this device (logout).</summary>
    /// <param name="cancellationToken">Cancels the wait for the result.</param>
    public Task UnregisterDeviceAsync(CancellationToken cancellationToken = default) =>
        InvokeOkAsync(new ClientFrame { UnregisterDevice = new UnregisterDeviceRequest() }, cancellationToken);

    /// <summary>Tells the server the app went to the background (true) or came back (false). In the background the device also gets pushes.</summary>
    /// <param name="background">True when the app is in the background.</param>
    /// <param name="cancellationToken">Cancels the wait for the result.</param>
    public Task SetBackgroundAsync(bool background, CancellationToken cancellationToken = default) =>
        InvokeOkAsync(new ClientFrame { AppState = new AppStateRequest { Background = background } }, cancellationToken);

    /// <summary>Reports that a push arrived on this device, or that the user opened it (ids from the push payload).</summary>
    /// <param name="pushId">The payload's push id.</param>
    /// <param name="traceId">The payload's trace id.</param>
    /// <param name="kind">Arrived or clicked.</param>
    /// <param name="cancellationToken">Cancels the wait for the result.</param>
    public Task ReportPushAsync(string pushId, string traceId, PushReportKind kind, CancellationToken cancellationToken = default) =>
        InvokeOkAsync(new ClientFrame { PushReport = new PushReportRequest { PushId = pushId, TraceId = traceId, Kind = kind } }, cancellationToken);

    /// <summary>Changes this user's push settings on every device. Null leaves a setting as it is.</summary>
    /// <param name="doNotDisturb">While on, nothing is pushed to the user.</param>
    /// <param name="privacy">How much of a message a push shows.</param>
    /// <param name="marketingOptOut">While on, the user gets no marketing campaign (chat and service notifications still come).</param>
    /// <param name="cancellationToken">Cancels the wait for the result.</param>
    public Task SetPushSettingsAsync(bool? doNotDisturb = null, PushPrivacy? privacy = null, bool? marketingOptOut = null, CancellationToken cancellationToken = default)
    {
        var request = new UpdatePushSettingsRequest();
        if (marketingOptOut is { } optOut)
        {
            request.MarketingOptOut = optOut;
        }

        if (doNotDisturb is { } dnd)
        {
            request.DoNotDisturb = dnd;
        }

        if (privacy is { } p)
        {
            request.Privacy = p;
        }

        return InvokeOkAsync(new ClientFrame { UpdatePushSettings = request }, cancellationToken);
    }

    /// <summary>Offline pushes of a conversation only for messages that mention this user (or no longer so).</summary>
    /// <param name="conversationId">The conversation.</param>
    /// <param name="mentionsOnly">True for mentions only.</param>
    /// <param name="cancellationToken">Cancels the wait for the result.</param>
    /// <returns>The conversation after the change.</returns>
    public async Task<Conversation> SetMentionsOnlyAsync(string conversationId, bool mentionsOnly, CancellationToken cancellationToken = default)
    {
        var request = new UpdateConversationRequest { ConversationId = conversationId, MentionsOnly = mentionsOnly };
        var reply = await InvokeAsync(new ClientFrame { UpdateConversation = request }, ServerFrame.BodyOneofCase.Conversation, cancellationToken).ConfigureAwait(false);
        return reply.Conversation;
    }
}
