using System.Text.Json;
using Parley.Core.Messaging;
using Parley.Protocol;

namespace Parley.Core.Groups;

/// <summary>
/// The limits of a group's fields and of group commands, defined once. The conversation grain applies them to every
/// command, whichever edge (native WebSocket, OpenIM WebSocket or REST, admin API) built it.
/// </summary>
public static class GroupRules
{
    public const int MaxNameLength = 128;
    public const int MaxUrlLength = 1024;
    public const int MaxTextLength = 4096;
    public const int MaxMessageLength = 256;
    public const int MaxNicknameLength = 64;

    /// <summary>The most user ids one command may name.</summary>
    public const int MaxUsersPerCommand = 500;

    public static readonly long MaxMuteSeconds = (long)TimeSpan.FromDays(30).TotalSeconds;

    /// <summary>True for empty text (meaning "{}") or a JSON document of at most <see cref="MaxTextLength"/> characters.</summary>
    public static bool IsJson(string json)
    {
        if (json.Length > MaxTextLength)
        {
            return false;
        }

        try
        {
            using var _ = JsonDocument.Parse(json.Length == 0 ? "{}" : json);
            return true;
        }
        catch (JsonException)
        {
            return false;
        }
    }

    /// <summary>The refusal of a group creation with bad fields, or null.</summary>
    public static CoreFailure? Check(CreateGroupCommand command)
    {
        if (!Ids.IsValid(command.GroupId))
        {
            return Invalid("group_id must be 1..64 characters of [A-Za-z0-9-._@:].");
        }

        if (command.MemberIds.Length > MaxUsersPerCommand || command.AdminIds.Length > MaxUsersPerCommand
            || command.MemberIds.Any(m => !Ids.IsValid(m)) || command.AdminIds.Any(m => !Ids.IsValid(m)))
        {
            return Invalid($"member_ids: name at most {MaxUsersPerCommand} valid member ids (and at most {MaxUsersPerCommand} admin ids).");
        }

        if (!Enum.IsDefined(command.Kind))
        {
            return Invalid("kind: unknown group kind.");
        }

        return CheckFields(command.Name, command.AvatarUrl, command.Introduction, command.Announcement, command.Ex);
    }

    /// <summary>The refusal of a group command with bad arguments, or null (authorisation is the grain's).</summary>
    public static CoreFailure? Check(GroupCommand command)
    {
        if (command.UserIds.Length > MaxUsersPerCommand || command.UserIds.Any(u => !Ids.IsValid(u)))
        {
            return Invalid($"Name at most {MaxUsersPerCommand} valid user ids.");
        }

        if (command.Message.Length > MaxMessageLength)
        {
            return Invalid($"The message or reason is longer than {MaxMessageLength} characters.");
        }

        switch (command.Operation)
        {
            case GroupOperation.UpdateInfo:
                return command.Settings is not { } s
                    ? Invalid("Nothing to change.")
                    : CheckFields(s.Name, s.AvatarUrl, s.Introduction, s.Announcement, s.Ex);
            case GroupOperation.Invite or GroupOperation.Kick when command.UserIds.Length == 0:
                return Invalid("Name at least one user.");
            case GroupOperation.RespondRequest or GroupOperation.TransferOwner or GroupOperation.SetRole or GroupOperation.Mute
                when command.UserIds.Length != 1:
                return Invalid("Name exactly one user.");
            case GroupOperation.SetRole when command.Role is not (Abstractions.Messaging.MemberRole.Member or Abstractions.Messaging.MemberRole.Admin):
                return Invalid("Ownership moves only by transfer.");
            case GroupOperation.Mute when command.Seconds < 0 || command.Seconds > MaxMuteSeconds:
                return Invalid("A mute lasts at most 30 days.");
            case GroupOperation.SetNickname when command.Nickname.Length > MaxNicknameLength:
                return Invalid($"A nickname has at most {MaxNicknameLength} characters.");
            default:
                return null;
        }
    }

    /// <summary>The refusal of group info fields (null = unchanged), or null.</summary>
    public static CoreFailure? CheckFields(string? name, string? avatarUrl, string? introduction, string? announcement, string? ex)
    {
        if ((name?.Length ?? 0) > MaxNameLength)
        {
            return Invalid($"The group name is longer than {MaxNameLength} characters.");
        }

        if ((avatarUrl?.Length ?? 0) > MaxUrlLength)
        {
            return Invalid($"The avatar URL is longer than {MaxUrlLength} characters.");
        }

        if ((introduction?.Length ?? 0) > MaxTextLength || (announcement?.Length ?? 0) > MaxTextLength)
        {
            return Invalid($"The introduction and announcement have at most {MaxTextLength} characters.");
        }

        return ex is not null && !IsJson(ex) ? Invalid($"ex must be JSON of at most {MaxTextLength} characters.") : null;
    }

    private static CoreFailure Invalid(string message) => new(CoreError.InvalidArgument, message);
}
