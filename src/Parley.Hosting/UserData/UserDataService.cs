using System.IO.Compression;
using System.Text.Json;
using Google.Protobuf;
using Microsoft.Extensions.Logging;
using Parley.Abstractions.Accounts;
using Parley.Abstractions.Admin;
using Parley.Abstractions.Messaging;
using Parley.Abstractions.Push;
using Parley.Abstractions.Social;
using Parley.Core;
using Parley.Core.Messaging;
using Parley.Core.Sessions;
using Parley.Core.Social;
using Parley.Media;
using Parley.Protocol.V1;

namespace Parley.Hosting.UserData;

/// <summary>
/// Everything Parley stores about one user, as a downloadable archive, and the erasure of it (docs/privacy.md).
/// Both are operator actions (scope <c>data</c>) and audited by the admin API.
/// </summary>
public sealed partial class UserDataService(
    IAccountStore accounts,
    IAdminQueryStore admin,
    IMessageStore messages,
    ISentMessageStore sent,
    IRelationStore relations,
    IDeviceStore devices,
    MediaService media,
    SocialService social,
    IGrainFactory grains,
    ISessionControl sessions,
    TimeProvider time,
    Parley.Abstractions.Webhooks.IWebhookOutbox webhookOutbox,
    IUserTagStore userTags,
    ILogger<UserDataService> logger)
{
    /// <summary>The nickname an erased user keeps (the user id stays as an opaque key of tombstones and group history).</summary>
    public const string ErasedNickname = "Deleted user";

    private const int ConversationPage = 200;
    private const int EraseChunk = 500;

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web) { WriteIndented = true };
    private static readonly JsonSerializerOptions JsonLine = new(JsonSerializerDefaults.Web);

    /// <summary>
    /// Writes the export zip of <paramref name="userId"/> to <paramref name="output"/> (a seekable temp file): README.txt,
    /// profile.json, tokens.json, devices.json (push tokens left out: they are credentials of the vendor), relations.json,
    /// conversations.json (with the user's membership), messages.jsonl (every message the user sent, content as JSON),
    /// media.json and media/ (the bytes of every object the user uploaded). Null when there is no such user.
    /// </summary>
    public async Task<UserExportSummary?> ExportAsync(string userId, Stream output, CancellationToken cancellationToken = default)
    {
        var summary = await admin.GetUserSummaryAsync(userId, cancellationToken).ConfigureAwait(false);
        if (summary is null)
        {
            return null;
        }

        var now = time.GetUtcNow().ToUnixTimeMilliseconds();
        var zip = new ZipArchive(output, ZipArchiveMode.Create, leaveOpen: true);
        int messageCount = 0, conversationCount = 0, objectCount = 0;
        using (zip)
        {
            await WriteTextAsync(zip, "README.txt", Readme(userId, now), cancellationToken).ConfigureAwait(false);
            var u = summary.User;
            await WriteJsonAsync(zip, "profile.json", new
            {
                u.UserId,
                u.Nickname,
                u.AvatarUrl,
                Ex = JsonDocument.Parse(string.IsNullOrEmpty(u.Ex) ? "{}" : u.Ex).RootElement,
                u.CreatedAt,
                u.UpdatedAt,
                summary.DisabledAt,
                Searchable = await relations.GetSearchableAsync(userId, cancellationToken).ConfigureAwait(false),
                Tags = await userTags.GetAsync(userId, cancellationToken).ConfigureAwait(false),
                ExportedAt = now,
            }, cancellationToken).ConfigureAwait(false);
            await WriteJsonAsync(zip, "tokens.json", await admin.ListUserTokensAsync(userId, 10_000, cancellationToken).ConfigureAwait(false), cancellationToken).ConfigureAwait(false);
            var pushDevices = await devices.ListAsync([userId], cancellationToken).ConfigureAwait(false);
            await WriteJsonAsync(zip, "devices.json", pushDevices.Select(d => new
            {
                d.DeviceId,
                d.Platform,
                Vendor = d.Vendor.ToString(),
                d.AppId,
                Environment = d.Environment.ToString(),
                d.NotificationsEnabled,
                d.Locale,
                d.TimeZone,
                d.LastSeenAt,
                d.RegisteredAt,
                d.TokenInvalidAt,
            }), cancellationToken).ConfigureAwait(false);

            var rel = await relations.GetChangesAsync(userId, 0, cancellationToken).ConfigureAwait(false);
            await WriteJsonAsync(zip, "relations.json", new
            {
                Friends = rel.Friends.Where(f => !f.Deleted).Select(f => new { f.FriendId, f.Remark, f.CreatedAt }),
                RequestsSent = rel.Requests.Where(r => r.FromUserId == userId).Select(r => new { r.ToUserId, r.Message, State = r.State.ToString(), r.CreatedAt, r.HandledAt }),
                RequestsReceived = rel.Requests.Where(r => r.ToUserId == userId).Select(r => new { r.FromUserId, r.Message, State = r.State.ToString(), r.CreatedAt, r.HandledAt }),
                Blocked = rel.BlockedUserIds,
            }, cancellationToken).ConfigureAwait(false);

            var conversations = new List<object>();
            for (var offset = 0; ; offset += ConversationPage)
            {
                var (page, total) = await messages.ListConversationsAsync(userId, offset, ConversationPage, cancellationToken).ConfigureAwait(false);
                foreach (var c in page)
                {
                    var members = await messages.GetMembersAsync(c.ConversationId, cancellationToken).ConfigureAwait(false);
                    var me = members.FirstOrDefault(m => m.UserId == userId);
                    conversations.Add(new
                    {
                        c.ConversationId,
                        Kind = c.Kind.ToString(),
                        c.GroupId,
                        c.Name,
                        c.PeerUserId,
                        c.MaxSeq,
                        c.ReadSeq,
                        c.Pinned,
                        c.Muted,
                        Role = me?.Role.ToString(),
                        GroupNickname = me?.Nickname,
                    });
                }

                if (page.Count == 0 || offset + page.Count >= total)
                {
                    break;
                }
            }

            conversationCount = conversations.Count;
            await WriteJsonAsync(zip, "conversations.json", conversations, cancellationToken).ConfigureAwait(false);

            var lines = zip.CreateEntry("messages.jsonl", CompressionLevel.Fastest).Open();
            await using (lines.ConfigureAwait(false))
            {
                await foreach (var m in sent.ReadSentMessagesAsync(userId, cancellationToken).ConfigureAwait(false))
                {
                    await JsonSerializer.SerializeAsync(lines, new
                    {
                        m.ConversationId,
                        m.Seq,
                        m.ServerMsgId,
                        m.ClientMsgId,
                        m.ServerTime,
                        m.Revoked,
                        Kind = ((Content.BodyOneofCase)m.ContentKind).ToString(),
                        Content = ContentJson(m),
                    }, JsonLine, cancellationToken).ConfigureAwait(false);
                    lines.WriteByte((byte)'\n');
                    messageCount++;
                }
            }

            var objects = new List<object>();
            await foreach (var obj in media.ListOwnedObjectsAsync(userId, cancellationToken).ConfigureAwait(false))
            {
                var path = $"media/{obj.ObjectId}";
                var content = await media.OpenObjectContentAsync(obj.ObjectId, cancellationToken).ConfigureAwait(false);
                if (content is not null)
                {
                    await using (content.ConfigureAwait(false))
                    {
                        var entry = zip.CreateEntry(path, CompressionLevel.NoCompression).Open();
                        await using (entry.ConfigureAwait(false))
                        {
                            await content.CopyToAsync(entry, cancellationToken).ConfigureAwait(false);
                        }
                    }
                }

                objects.Add(new { obj.ObjectId, Kind = obj.Kind.ToString(), obj.FileName, obj.ContentType, obj.Size, obj.Sha256, obj.Width, obj.Height, obj.CreatedAt, File = content is null ? null : path });
                objectCount++;
            }

            await WriteJsonAsync(zip, "media.json", objects, cancellationToken).ConfigureAwait(false);
        }

        LogExported(logger, userId, messageCount, conversationCount, objectCount);
        return new UserExportSummary(userId, messageCount, conversationCount, objectCount);
    }

    /// <summary>
    /// Erases <paramref name="userId"/>: the account is disabled, every token revoked and every connection closed; push
    /// devices removed; every message the user sent becomes a tombstone for the other members (a revoke marker each, so
    /// their clients drop the content); friendships removed, blocks lifted, incoming requests refused; uploaded media
    /// deleted; the profile anonymised (nickname <see cref="ErasedNickname"/>, no avatar, no extra data, not searchable); the
    /// webhook outbox's events naming the user deleted.
    /// Idempotent: a second call finds nothing left to erase. Null when there is no such user.
    /// </summary>
    public async Task<UserErasureSummary?> EraseAsync(string userId, CancellationToken cancellationToken = default)
    {
        if (await admin.GetUserSummaryAsync(userId, cancellationToken).ConfigureAwait(false) is not { } summary)
        {
            return null;
        }

        var now = time.GetUtcNow().ToUnixTimeMilliseconds();

        // First nothing new can come from the user: disabled (no token can be issued), tokens revoked, sessions closed.
        if (summary.DisabledAt is null)
        {
            await admin.SetUserDisabledAsync(userId, now, cancellationToken).ConfigureAwait(false);
        }

        var revoked = await accounts.RevokeUserTokensAsync(userId, null, now, cancellationToken).ConfigureAwait(false);
        var closed = sessions.KickUser(userId, null, KickReason.ForceLogout);

        var removedDevices = 0;
        foreach (var device in await devices.ListAsync([userId], cancellationToken).ConfigureAwait(false))
        {
            removedDevices += await devices.RemoveAsync(userId, device.DeviceId, cancellationToken).ConfigureAwait(false) ? 1 : 0;
        }

        // Messages: collected per conversation, then each conversation's single writer tombstones them.
        var byConversation = new Dictionary<string, List<long>>(StringComparer.Ordinal);
        await foreach (var m in sent.ReadSentMessagesAsync(userId, cancellationToken).ConfigureAwait(false))
        {
            if (!m.Revoked && Parley.Protocol.ContentKinds.IsUserContent(m.ContentKind))
            {
                if (!byConversation.TryGetValue(m.ConversationId, out var seqs))
                {
                    byConversation[m.ConversationId] = seqs = [];
                }

                seqs.Add(m.Seq);
            }
        }

        var tombstoned = 0;
        foreach (var (conversationId, seqs) in byConversation)
        {
            foreach (var chunk in seqs.Chunk(EraseChunk))
            {
                var result = await grains.GetGrain<IConversationGrain>(conversationId).EraseSenderContentAsync(userId, chunk).ConfigureAwait(false);
                if (!result.IsOk)
                {
                    throw new InvalidOperationException($"Erasing the messages of conversation {conversationId} failed: {result.Failure.Message}");
                }

                tombstoned += result.Value;
            }
        }

        var rel = await relations.GetChangesAsync(userId, 0, cancellationToken).ConfigureAwait(false);
        var friends = 0;
        foreach (var friend in rel.Friends.Where(f => !f.Deleted))
        {
            friends += (await social.DeleteFriendAsync(userId, friend.FriendId, cancellationToken).ConfigureAwait(false)).IsOk ? 1 : 0;
        }

        var blocks = 0;
        foreach (var blocked in rel.BlockedUserIds)
        {
            blocks += (await social.SetBlockedAsync(userId, blocked, false, cancellationToken).ConfigureAwait(false)).IsOk ? 1 : 0;
        }

        var requests = 0;
        foreach (var request in rel.Requests.Where(r => r.ToUserId == userId && r.State == Parley.Abstractions.Social.FriendRequestState.Pending))
        {
            requests += (await social.RespondFriendRequestAsync(userId, request.FromUserId, false, string.Empty, cancellationToken).ConfigureAwait(false)).IsOk ? 1 : 0;
        }

        var objects = new List<Parley.Abstractions.Media.MediaObjectRecord>();
        await foreach (var obj in media.ListOwnedObjectsAsync(userId, cancellationToken).ConfigureAwait(false))
        {
            objects.Add(obj);
        }

        foreach (var obj in objects)
        {
            await media.DeleteObjectAsync(obj, cancellationToken).ConfigureAwait(false);
        }

        await accounts.UpdateUserAsync(userId, ErasedNickname, string.Empty, "{}", now, cancellationToken).ConfigureAwait(false);
        await userTags.SetAsync(userId, [], cancellationToken).ConfigureAwait(false);
        await relations.SetSearchableAsync(userId, false, now, cancellationToken).ConfigureAwait(false);

        // Last: the after-hook events that name the user, including those this erasure just made (revokes, removed
        // friends), whether still pending, delivered or dead-lettered, so nothing about the user is sent or kept there.
        var purged = await webhookOutbox.PurgeUserAsync(userId, cancellationToken).ConfigureAwait(false);

        var result2 = new UserErasureSummary(userId, revoked.Count, closed, removedDevices, tombstoned, byConversation.Count, friends, blocks, requests, objects.Count)
        {
            WebhookEventsPurged = purged,
        };
        LogErased(logger, userId, tombstoned, objects.Count);
        return result2;
    }

    private static JsonElement? ContentJson(StoredMessage m)
    {
        if (m.Revoked || m.Content.Length == 0)
        {
            return null;
        }

        try
        {
            using var doc = JsonDocument.Parse(JsonFormatter.Default.Format(Content.Parser.ParseFrom(m.Content)));
            return doc.RootElement.Clone();
        }
        catch (InvalidProtocolBufferException)
        {
            return null;
        }
    }

    private static async Task WriteJsonAsync<T>(ZipArchive zip, string name, T value, CancellationToken cancellationToken)
    {
        var stream = zip.CreateEntry(name, CompressionLevel.Fastest).Open();
        await using (stream.ConfigureAwait(false))
        {
            await JsonSerializer.SerializeAsync(stream, value, Json, cancellationToken).ConfigureAwait(false);
        }
    }

    private static async Task WriteTextAsync(ZipArchive zip, string name, string text, CancellationToken cancellationToken)
    {
        var stream = zip.CreateEntry(name, CompressionLevel.Fastest).Open();
        await using (stream.ConfigureAwait(false))
        {
            await stream.WriteAsync(System.Text.Encoding.UTF8.GetBytes(text), cancellationToken).ConfigureAwait(false);
        }
    }

    private static string Readme(string userId, long now) => $"""
        Parley data export of user {userId}, created at {DateTimeOffset.FromUnixTimeMilliseconds(now):u}.

        profile.json        the profile (nickname, avatar, extra data), created/updated/disabled times, searchable
        tokens.json         device sign-in tokens: device, platform, issued, expires, revoked (never the token itself)
        devices.json        push devices: vendor, app, environment, locale, time zone, last seen (not the vendor token)
        relations.json      friends with remarks, friend requests sent and received, blocked users
        conversations.json  conversations the user belongs to or still sees, with read position, pin/mute, group role
        messages.jsonl      one JSON object per line: every message the user sent (content as JSON; null for tombstones)
        media.json, media/  every file, image, voice note or video the user uploaded, with its bytes

        """;

    [LoggerMessage(EventId = 9511, Level = LogLevel.Information, Message = "User data of {UserId} exported: {Messages} messages, {Conversations} conversations, {Objects} media objects")]
    private static partial void LogExported(ILogger logger, string userId, int messages, int conversations, int objects);

    [LoggerMessage(EventId = 9512, Level = LogLevel.Warning, Message = "User {UserId} erased: {Messages} messages tombstoned, {Objects} media objects deleted")]
    private static partial void LogErased(ILogger logger, string userId, int messages, int objects);
}

public sealed record UserExportSummary(string UserId, int Messages, int Conversations, int MediaObjects);

/// <param name="ConnectionsClosed">Live connections closed on this node.</param>
/// <param name="MessagesTombstoned">Messages that became tombstones in this call (0 when run again).</param>
public sealed record UserErasureSummary(
    string UserId,
    int TokensRevoked,
    int ConnectionsClosed,
    int DevicesRemoved,
    int MessagesTombstoned,
    int Conversations,
    int FriendsRemoved,
    int BlocksLifted,
    int RequestsRefused,
    int MediaDeleted)
{
    /// <summary>After-hook events naming the user deleted from the webhook outbox.</summary>
    public int WebhookEventsPurged { get; init; }
}
