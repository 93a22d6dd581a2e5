namespace Parley.Core;

/// <summary>
/// The domain failures of the core, defined once. Grains and core services answer with these; each edge maps them to
/// its own wire codes in one table (native <c>ErrorCode</c> in the gateway, OpenIM errCode in Parley.Compat.OpenIM).
/// The numbers are stable because they cross grain calls.
/// </summary>
public enum CoreError
{
    /// <summary>Success.</summary>
    None = 0,

    /// <summary>The command is malformed or breaks a limit (field length, id syntax, JSON).</summary>
    InvalidArgument = 1,

    /// <summary>The content is larger than the configured limit.</summary>
    TooLarge = 2,

    /// <summary>The named conversation, group, user, message or request does not exist.</summary>
    NotFound = 3,

    /// <summary>The caller is not an active member of the conversation or group.</summary>
    NotMember = 4,

    /// <summary>The caller may not do this (role, ownership, policy).</summary>
    Forbidden = 5,

    /// <summary>The thing to create exists already (a group id).</summary>
    AlreadyExists = 6,

    /// <summary>The change contradicts the current state (already friends, already a member, a pending request).</summary>
    Conflict = 7,

    /// <summary>The sender is muted in the group.</summary>
    Muted = 8,

    /// <summary>The whole group is muted (everyone but the owner and admins).</summary>
    GroupMuted = 9,

    /// <summary>The group was dismissed.</summary>
    GroupDismissed = 10,

    /// <summary>One of the two users blocks the other.</summary>
    Blocked = 11,

    /// <summary>Direct messages need friendship on this server and the users are not friends.</summary>
    NotFriends = 12,

    /// <summary>The time window for the operation has passed (revoking a message).</summary>
    Expired = 13,

    /// <summary>The caller exceeded a rate limit.</summary>
    RateLimited = 14,

    /// <summary>The feature is not enabled on this server, or the operation is unknown.</summary>
    Unsupported = 15,

    /// <summary>The write was not stored (commit failure); the caller may retry.</summary>
    Unavailable = 16,
}
