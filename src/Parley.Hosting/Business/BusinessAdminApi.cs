using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Parley.Abstractions.Business;
using Parley.Api.Admin;
using Parley.Api.Admin.Operators;
using Parley.Core;
using Parley.Core.Business;
using Parley.Core.Messaging;
using Parley.Protocol.V1;

namespace Parley.Hosting.Business;

/// <summary>
/// The app server's business API under <c>/admin/v1/business</c> (scope <c>business</c>, audited): send as a user or a
/// notification account into a 1:1 or a group, batch send with per-recipient results, and the notification accounts.
/// The edge only translates; the rules are <see cref="BusinessMessagingService"/>'s and the conversation grain's.
/// </summary>
internal static class BusinessAdminApi
{
    private const int MaxPage = 200;

    public static RouteGroupBuilder MapParleyBusinessAdmin(this IEndpointRouteBuilder endpoints)
    {
        var group = endpoints.MapGroup("/admin/v1/business").RequireParleyAdmin(OperatorScopes.Business);
        group.MapPost("/messages", SendAsync).WithName("business.messages.send").Produces<BusinessAckResponse>();
        group.MapPost("/messages/batch", BatchSendAsync).WithName("business.messages.batch").Produces<BatchSendResponse>();
        group.MapPost("/notifications", SendNotificationAsync).WithName("business.notifications.send").Produces<BatchSendResponse>();
        group.MapPost("/accounts", CreateAccountAsync).WithName("business.accounts.create").Produces<NotificationAccount>(201);
        group.MapPut("/accounts/{userId}", UpdateAccountAsync).WithName("business.accounts.update").Produces<NotificationAccount>();
        group.MapGet("/accounts/{userId}", GetAccountAsync).WithName("business.accounts.get").Produces<NotificationAccount>();
        group.MapGet("/accounts", SearchAccountsAsync).WithName("business.accounts.search").Produces<NotificationAccountPage>();
        return group.MapCampaigns();
    }

    private static async Task<IResult> SendAsync(HttpContext http, BusinessSendRequest? request, BusinessMessagingService business, CancellationToken cancellationToken)
    {
        if (request is null || ToContent(request.Content) is not { } content)
        {
            return Fail(400, "bad_request", "A send needs senderId, one of recipientId/groupId/conversationId and content {text} or {custom:{type, json}}.");
        }

        var targets = new[] { request.RecipientId, request.GroupId, request.ConversationId }.Count(t => t is not null);
        if (targets != 1)
        {
            return Fail(400, "bad_request", "Name exactly one of recipientId, groupId or conversationId.");
        }

        var conversationId = request.GroupId is { } groupId ? Parley.Protocol.Ids.GroupConversationId(groupId) : request.ConversationId;
        AuditWriter.SetTarget(http, request.RecipientId is { } r ? "user:" + r : "conversation:" + conversationId);
        AuditWriter.SetDetail(http, "sender=" + request.SenderId);
        var clientMsgId = string.IsNullOrEmpty(request.ClientMsgId) ? Guid.NewGuid().ToString("N") : request.ClientMsgId;
        var result = await business.SendAsync(request.SenderId ?? string.Empty, clientMsgId, request.RecipientId, conversationId, content, cancellationToken).ConfigureAwait(false);
        return result.IsOk ? Results.Ok(BusinessAckResponse.From(clientMsgId, result.Value!)) : Refusal(result.Failure);
    }

    private static async Task<IResult> BatchSendAsync(HttpContext http, BatchSendRequest? request, BusinessMessagingService business, CancellationToken cancellationToken)
    {
        if (request is null || ToContent(request.Content) is not { } content || request.RecipientIds is null)
        {
            return Fail(400, "bad_request", "A batch needs senderId, recipientIds and content {text} or {custom:{type, json}}.");
        }

        var clientMsgId = string.IsNullOrEmpty(request.ClientMsgId) ? Guid.NewGuid().ToString("N") : request.ClientMsgId;
        AuditWriter.SetTarget(http, "users:" + request.RecipientIds.Count);
        var result = await business.BatchSendAsync(request.SenderId ?? string.Empty, clientMsgId, request.RecipientIds, content, cancellationToken).ConfigureAwait(false);
        return PerRecipient(http, request.SenderId, clientMsgId, result);
    }

    private static async Task<IResult> SendNotificationAsync(HttpContext http, ServiceNotificationRequest? request, BusinessMessagingService business, CancellationToken cancellationToken)
    {
        if (request?.RecipientIds is null || string.IsNullOrEmpty(request.IdempotencyKey))
        {
            return Fail(400, "bad_request", "A service notification needs senderId, recipientIds, idempotencyKey, title and body.");
        }

        AuditWriter.SetTarget(http, "users:" + request.RecipientIds.Count);
        var notification = new ServiceNotification(request.Title ?? string.Empty, request.Body ?? string.Empty, request.DeepLink, request.TemplateId, request.ExpiresAt);
        var result = await business.SendServiceNotificationAsync(request.SenderId ?? string.Empty, request.IdempotencyKey, request.RecipientIds, notification, cancellationToken).ConfigureAwait(false);
        return PerRecipient(http, request.SenderId, request.IdempotencyKey, result);
    }

    private static IResult PerRecipient(HttpContext http, string? senderId, string clientMsgId, CoreResult<IReadOnlyList<BatchSendResult>> result)
    {
        if (!result.IsOk)
        {
            return Refusal(result.Failure);
        }

        var items = result.Value!.Select(r => new BatchItemResponse(
            r.RecipientId,
            r.Ack?.ConversationId,
            r.Ack?.Seq,
            r.Ack?.ServerMsgId,
            r.Ack?.ServerTime,
            r.Ack?.Duplicate,
            r.Ack is null ? new ErrorBody(ErrorCode(r.Error), r.Message ?? r.Error.ToString()) : null)).ToList();
        var sent = items.Count(i => i.Error is null);
        AuditWriter.SetDetail(http, $"sender={senderId} clientMsgId={clientMsgId} sent={sent} failed={items.Count - sent}");
        return Results.Ok(new BatchSendResponse(clientMsgId, sent, items.Count - sent, items));
    }

    private static async Task<IResult> CreateAccountAsync(HttpContext http, NotificationAccountRequest? request, BusinessMessagingService business, CancellationToken cancellationToken)
    {
        AuditWriter.SetTarget(http, "user:" + request?.UserId);
        var result = await business.CreateAccountAsync(request?.UserId ?? string.Empty, request?.Nickname, request?.FaceUrl, request?.Level, cancellationToken).ConfigureAwait(false);
        return result.IsOk ? Results.Created("/admin/v1/business/accounts/" + result.Value!.UserId, result.Value) : Refusal(result.Failure);
    }

    private static async Task<IResult> UpdateAccountAsync(HttpContext http, string userId, NotificationAccountRequest? request, BusinessMessagingService business, CancellationToken cancellationToken)
    {
        AuditWriter.SetTarget(http, "user:" + userId);
        var result = await business.UpdateAccountAsync(userId, request?.Nickname, request?.FaceUrl, cancellationToken).ConfigureAwait(false);
        return result.IsOk ? Results.Ok(result.Value) : Refusal(result.Failure);
    }

    private static async Task<IResult> GetAccountAsync(string userId, INotificationAccountStore accounts, CancellationToken cancellationToken) =>
        await accounts.GetAsync(userId, cancellationToken).ConfigureAwait(false) is { } account
            ? Results.Ok(account)
            : Fail(404, "not_found", "No such notification account.");

    private static async Task<IResult> SearchAccountsAsync(string? q, int? level, int? offset, int? limit, BusinessMessagingService business, CancellationToken cancellationToken)
    {
        if ((q?.Length ?? 0) > 128 || offset < 0 || limit is < 1 or > MaxPage)
        {
            return Fail(400, "bad_request", $"q must be at most 128 characters, offset at least 0, limit 1..{MaxPage}.");
        }

        return Results.Ok(await business.SearchAccountsAsync(q, level, offset ?? 0, limit ?? 50, cancellationToken).ConfigureAwait(false));
    }

    /// <summary>The admin API's content: <c>{"text": "…"}</c> or <c>{"custom": {"type": "…", "json": {…}}}</c>.</summary>
    private static Content? ToContent(BusinessContent? content)
    {
        if (content?.Text is { } text && content.Custom is null)
        {
            return new Content { Text = new TextContent { Text = text } };
        }

        if (content?.Custom is { Type: { } type } custom && content.Text is null)
        {
            var json = custom.Json is { ValueKind: not JsonValueKind.Undefined and not JsonValueKind.Null } value ? value.GetRawText() : "{}";
            return new Content { Custom = new CustomContent { Type = type, Json = json } };
        }

        return null;
    }

    private static string ErrorCode(CoreError error) => error switch
    {
        CoreError.NotFound => "not_found",
        CoreError.NotMember => "not_member",
        CoreError.Blocked => "blocked",
        CoreError.NotFriends => "not_friends",
        CoreError.Muted or CoreError.GroupMuted => "muted",
        CoreError.GroupDismissed => "group_dismissed",
        CoreError.AlreadyExists => "already_exists",
        CoreError.Forbidden => "refused",
        CoreError.TooLarge => "too_large",
        CoreError.RateLimited => "rate_limited",
        _ => "bad_request",
    };

    private static IResult Refusal(CoreFailure failure) => failure.Error switch
    {
        CoreError.NotFound => Fail(404, "not_found", failure.Message),
        CoreError.TooLarge => Fail(413, "too_large", failure.Message),
        CoreError.RateLimited => Fail(429, "rate_limited", failure.Message),
        CoreError.InvalidArgument or CoreError.Unsupported => Fail(400, "bad_request", failure.Message),
        _ => Fail(409, ErrorCode(failure.Error), failure.Message),
    };

    private static IResult Fail(int status, string code, string message) =>
        Results.Json(new ErrorResponse(new ErrorBody(code, message)), statusCode: status);
}

/// <param name="Json">Any JSON value; stored as the custom content's JSON text.</param>
public sealed record BusinessCustomContent(string? Type, JsonElement? Json);

/// <summary>Exactly one of <see cref="Text"/> or <see cref="Custom"/>.</summary>
public sealed record BusinessContent(string? Text, BusinessCustomContent? Custom);

/// <param name="ClientMsgId">The idempotency key: a repeat stores nothing and answers the first ack (generated when absent).</param>
public sealed record BusinessSendRequest(string? SenderId, string? ClientMsgId, string? RecipientId, string? GroupId, string? ConversationId, BusinessContent? Content);

public sealed record BatchSendRequest(string? SenderId, string? ClientMsgId, IReadOnlyList<string>? RecipientIds, BusinessContent? Content);

/// <param name="IdempotencyKey">The messages' clientMsgId: a repeat stores and pushes nothing new.</param>
/// <param name="ExpiresAt">Unix milliseconds after which the notification is no longer pushed.</param>
public sealed record ServiceNotificationRequest(string? SenderId, IReadOnlyList<string>? RecipientIds, string? IdempotencyKey, string? Title, string? Body, string? DeepLink, string? TemplateId, long? ExpiresAt);

public sealed record NotificationAccountRequest(string? UserId, string? Nickname, string? FaceUrl, int? Level);

public sealed record BusinessAckResponse(string ClientMsgId, string ConversationId, long Seq, string ServerMsgId, long ServerTime, bool Duplicate)
{
    internal static BusinessAckResponse From(string clientMsgId, MessageAck ack) =>
        new(clientMsgId, ack.ConversationId, ack.Seq, ack.ServerMsgId, ack.ServerTime, ack.Duplicate);
}

/// <param name="Error">Null when the recipient's message was stored.</param>
public sealed record BatchItemResponse(string RecipientId, string? ConversationId, long? Seq, string? ServerMsgId, long? ServerTime, bool? Duplicate, ErrorBody? Error);

public sealed record BatchSendResponse(string ClientMsgId, int Sent, int Failed, IReadOnlyList<BatchItemResponse> Results);
