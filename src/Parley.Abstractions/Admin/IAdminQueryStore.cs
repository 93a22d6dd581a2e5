using Parley.Abstractions.Accounts;

namespace Parley.Abstractions.Admin;

/// <summary>A user as the admin console lists it.</summary>
/// <param name="DisabledAt">Unix milliseconds, or null while enabled.</param>
public sealed record UserSummary(UserRecord User, long? DisabledAt);

/// <summary>A page of users and how many match in all.</summary>
public sealed record UserPage(long Total, IReadOnlyList<UserRecord> Users);

/// <summary>A group as the admin console lists it.</summary>
/// <param name="CreatedAt">Unix milliseconds.</param>
public sealed record GroupSummary(string GroupId, string ConversationId, string Name, string OwnerId, int MemberCount, bool Dismissed, long CreatedAt);

/// <summary>What <see cref="IAdminQueryStore.CountCreatedAsync"/> counts.</summary>
public enum CreatedKind
{
    Users = 0,
    Groups = 1,
}

/// <summary>Creation statistics: all rows, rows created before the range's start, and per UTC day (<c>yyyy-MM-dd</c>) in the range.</summary>
public sealed record CreatedCounts(long Total, long Before, IReadOnlyDictionary<string, long> PerDay);

/// <summary>Administration queries over users and groups (every group, unlike the users' search). Thread-safe.</summary>
public interface IAdminQueryStore
{
    /// <summary>Groups whose id or name contains <paramref name="query"/> (any when empty), ordered by id, after <paramref name="afterGroupId"/>.</summary>
    Task<IReadOnlyList<GroupSummary>> SearchAllGroupsAsync(string? query, string? afterGroupId, int limit, CancellationToken cancellationToken = default);

    /// <summary>Users whose id or nickname contains <paramref name="query"/> (any when empty), ordered by id, after <paramref name="afterUserId"/>.</summary>
    Task<IReadOnlyList<UserSummary>> SearchUsersAsync(string? query, string? afterUserId, int limit, CancellationToken cancellationToken = default);

    /// <summary>
    /// One page (by user id) of the users that are not notification accounts, whose id contains
    /// <paramref name="userIdPart"/> or whose nickname contains <paramref name="nicknamePart"/> (case-insensitive; no
    /// filter when both are null), and how many match (OpenIM's <c>/user/get_users</c>).
    /// </summary>
    Task<UserPage> PageUsersAsync(string? userIdPart, string? nicknamePart, int offset, int limit, CancellationToken cancellationToken = default);

    /// <summary>Null when the user does not exist.</summary>
    Task<UserSummary?> GetUserSummaryAsync(string userId, CancellationToken cancellationToken = default);

    /// <summary>Sets or clears the disabled mark. Returns false when the user does not exist.</summary>
    Task<bool> SetUserDisabledAsync(string userId, long? disabledAt, CancellationToken cancellationToken = default);

    /// <summary>Tokens of a user, newest first (at most <paramref name="limit"/>).</summary>
    Task<IReadOnlyList<TokenRecord>> ListUserTokensAsync(string userId, int limit, CancellationToken cancellationToken = default);

    /// <summary>Users (or groups) in all, created before <paramref name="start"/>, and created per UTC day in [<paramref name="start"/>, <paramref name="end"/>) (Unix ms).</summary>
    Task<CreatedCounts> CountCreatedAsync(CreatedKind kind, long start, long end, CancellationToken cancellationToken = default);
}
