using System.Text.Json;
using Parley.Abstractions.Messaging;
using Parley.Core.Groups;
using Parley.Core.Messaging;

namespace Parley.Core.Webhooks;

/// <summary>
/// The group before-hooks (ADR 0012): <c>beforeCreateGroup</c> (allow, change the group's name, avatar, introduction,
/// announcement or ex, or refuse) and <c>beforeMemberJoinGroup</c> (allow, set newcomers' nickname, admin role or mute,
/// or refuse), in OpenIM's shapes. Called by <see cref="GroupService"/> before the conversation grain, so every edge
/// (native, OpenIM WebSocket and REST, admin API) is checked the same way. Registered (as <see cref="Optional{T}"/>)
/// only when one of them is enabled.
/// </summary>
public sealed class GroupHooks(WebhookClient client)
{
    /// <summary>OpenIM's role levels.</summary>
    private const int RoleOwner = 100;
    private const int RoleAdmin = 60;
    private const int RoleMember = 20;

    public bool CreateEnabled => client.Options.Enabled(WebhookOptions.BeforeCreateGroup) is not null;

    public bool JoinEnabled => client.Options.Enabled(WebhookOptions.BeforeMemberJoinGroup) is not null;

    /// <summary>
    /// Runs <c>beforeCreateGroup</c>: the command to run (the same instance when allowed unchanged), or a refusal (FORBIDDEN
    /// with the receiver's reason; UNAVAILABLE when a fail-closed call failed). Changes that break the group rules count
    /// as a failed call.
    /// </summary>
    public async Task<CoreResult<CreateGroupCommand>> BeforeCreateGroupAsync(CreateGroupCommand command)
    {
        const string Hook = WebhookOptions.BeforeCreateGroup;
        if (client.Options.Enabled(Hook) is not { } options)
        {
            return CoreResult.Success(command);
        }

        var eventId = Guid.CreateVersion7().ToString("N");
        var body = Write(json =>
        {
            json.WriteString("callbackCommand", Hook);
            json.WriteString("eventId", eventId);
            json.WriteString("groupID", command.GroupId);
            json.WriteString("groupName", command.Name);
            json.WriteString("notification", command.Announcement);
            json.WriteString("introduction", command.Introduction);
            json.WriteString("faceURL", command.AvatarUrl);
            json.WriteString("ownerUserID", command.CreatorId);
            json.WriteString("creatorUserID", command.CreatorId);
            json.WriteString("ex", command.Ex);
            json.WriteNumber("groupType", 2);
            json.WriteString("kind", command.Kind.ToString().ToLowerInvariant());
            json.WriteNumber("needVerification", command.JoinPolicy switch
            {
                GroupJoinPolicy.Approval => 1,
                GroupJoinPolicy.InviteOnly => 0,
                _ => 2,
            });
            json.WriteStartArray("initMemberList");
            WriteMember(json, command.CreatorId, RoleOwner);
            foreach (var admin in command.AdminIds.Distinct(StringComparer.Ordinal).Where(a => a != command.CreatorId))
            {
                WriteMember(json, admin, RoleAdmin);
            }

            foreach (var member in command.MemberIds.Distinct(StringComparer.Ordinal).Where(m => m != command.CreatorId && !command.AdminIds.Contains(m, StringComparer.Ordinal)))
            {
                WriteMember(json, member, RoleMember);
            }

            json.WriteEndArray();
        });

        var answer = await client.CallAsync(Hook, options, eventId, body).ConfigureAwait(false);
        using var document = answer.Body;
        if (document is null)
        {
            return Failed(Hook, options, command, "The server's group check did not answer; try again later.");
        }

        var root = document.RootElement;
        if (Refused(Hook, eventId, root) is { } refusal)
        {
            return refusal;
        }

        var changed = command with
        {
            Name = String(root, "groupName") ?? command.Name,
            Announcement = String(root, "notification") ?? command.Announcement,
            Introduction = String(root, "introduction") ?? command.Introduction,
            AvatarUrl = String(root, "faceURL") ?? command.AvatarUrl,
            Ex = String(root, "ex") is { } ex ? (ex.Length == 0 ? "{}" : ex) : command.Ex,
        };
        if (changed == command)
        {
            client.Count(Hook, "allowed");
            return CoreResult.Success(command);
        }

        if (GroupRules.Check(changed) is not null)
        {
            return Failed(Hook, options, command, "The server's group check did not answer; try again later.");
        }

        client.Count(Hook, "modified");
        return CoreResult.Success(changed);
    }

    /// <summary>
    /// Runs <c>beforeMemberJoinGroup</c> for users about to become members of <paramref name="groupId"/> (at creation,
    /// by a free join, an invitation admitted at once, or an approved request): what the receiver set for them (empty
    /// when nothing), or a refusal of the whole admission.
    /// </summary>
    /// <param name="how">Parley's addition to OpenIM's body: <c>create</c>, <c>join</c>, <c>invite</c> or <c>approve</c>.</param>
    public async Task<CoreResult<MemberOverride[]>> BeforeMembersJoinAsync(
        string groupId, string groupEx, string operatorId, string how, IReadOnlyList<(string UserId, MemberRole Role)> members)
    {
        const string Hook = WebhookOptions.BeforeMemberJoinGroup;
        if (client.Options.Enabled(Hook) is not { } options || members.Count == 0)
        {
            return CoreResult.Success<MemberOverride[]>([]);
        }

        var eventId = Guid.CreateVersion7().ToString("N");
        var body = Write(json =>
        {
            json.WriteString("callbackCommand", Hook);
            json.WriteString("eventId", eventId);
            json.WriteString("groupID", groupId);
            json.WriteString("groupEx", groupEx);
            json.WriteString("operatorUserID", operatorId);
            json.WriteString("joinKind", how);
            json.WriteStartArray("memberList");
            foreach (var (userId, role) in members)
            {
                json.WriteStartObject();
                json.WriteString("userID", userId);
                json.WriteString("ex", string.Empty);
                json.WriteNumber("roleLevel", role switch { MemberRole.Owner => RoleOwner, MemberRole.Admin => RoleAdmin, _ => RoleMember });
                json.WriteEndObject();
            }

            json.WriteEndArray();
        });

        var answer = await client.CallAsync(Hook, options, eventId, body).ConfigureAwait(false);
        using var document = answer.Body;
        if (document is null)
        {
            return Failed<MemberOverride[]>(Hook, options, [], "The server's membership check did not answer; try again later.");
        }

        var root = document.RootElement;
        if (Refused(Hook, eventId, root) is { } refusal)
        {
            return refusal;
        }

        if (!root.TryGetProperty("memberCallbackList", out var list) || list.ValueKind != JsonValueKind.Array)
        {
            client.Count(Hook, "allowed");
            return CoreResult.Success<MemberOverride[]>([]);
        }

        var overrides = new List<MemberOverride>();
        foreach (var item in list.EnumerateArray())
        {
            if (item.ValueKind != JsonValueKind.Object || String(item, "userID") is not { } userId
                || !members.Any(m => m.UserId == userId && m.Role != MemberRole.Owner))
            {
                continue; // not one of the newcomers (or the creator, whose role stays): ignored, as OpenIM does
            }

            var nickname = String(item, "nickname");
            MemberRole? role = Number(item, "roleLevel") switch
            {
                null => null,
                RoleAdmin => MemberRole.Admin,
                RoleMember => MemberRole.Member,
                _ => (MemberRole)(-1),
            };
            var mutedUntil = Number(item, "muteEndTime");
            if (nickname is { Length: > GroupRules.MaxNicknameLength } || role == (MemberRole)(-1) || mutedUntil is < 0)
            {
                return Failed<MemberOverride[]>(Hook, options, [], "The server's membership check did not answer; try again later.");
            }

            overrides.Add(new MemberOverride(userId, nickname, role, mutedUntil));
        }

        client.Count(Hook, overrides.Count == 0 ? "allowed" : "modified");
        return CoreResult.Success(overrides.ToArray());
    }

    private CoreFailure? Refused(string hook, string eventId, JsonElement root)
    {
        if (MessageHooks.Code(root, "errCode") == 0 && MessageHooks.Code(root, "actionCode") == 0)
        {
            return null;
        }

        client.Count(hook, "rejected");
        WebhookClient.WebhookRejected(client.Logger, hook, eventId);
        return new CoreFailure(CoreError.Forbidden, MessageHooks.Reason(root));
    }

    private CoreResult<T> Failed<T>(string hook, HookOptions options, T unchanged, string message)
    {
        if (options.FailOpen)
        {
            client.Count(hook, "failed_open");
            return CoreResult.Success(unchanged);
        }

        client.Count(hook, "failed_closed");
        return CoreResult.Fail(CoreError.Unavailable, message);
    }

    private static void WriteMember(Utf8JsonWriter json, string userId, int roleLevel)
    {
        json.WriteStartObject();
        json.WriteString("userID", userId);
        json.WriteNumber("roleLevel", roleLevel);
        json.WriteEndObject();
    }

    private static string? String(JsonElement root, string name) =>
        root.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

    private static long? Number(JsonElement root, string name) =>
        root.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.Number && value.TryGetInt64(out var n) ? n : null;

    private static byte[] Write(Action<Utf8JsonWriter> fill)
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            fill(json);
            json.WriteEndObject();
        }

        return buffer.ToArray();
    }
}
