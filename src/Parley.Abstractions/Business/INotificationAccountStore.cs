using Parley.Abstractions.Accounts;

namespace Parley.Abstractions.Business;

/// <summary>
/// A notification (system/service) account: a user the app server sends as (order updates, system notices), marked so that
/// clients show its 1:1 conversations as a notification conversation. Its nickname and avatar are the user's profile.
/// </summary>
/// <param name="Level">OpenIM's <c>appMangerLevel</c> of the account (3 notification account, 4 robot); stored as given.</param>
public sealed record NotificationAccount(string UserId, string Nickname, string FaceUrl, int Level, long CreatedAt, long UpdatedAt);

/// <summary>One page of a notification-account search, with the number of all matches.</summary>
public sealed record NotificationAccountPage(long Total, IReadOnlyList<NotificationAccount> Accounts);

/// <summary>Notification accounts (table <c>notification_accounts</c> beside <c>users</c>, in the same database).</summary>
public interface INotificationAccountStore
{
    /// <summary>
    /// Creates the user <paramref name="user"/> and marks it as a notification account, atomically. False (nothing written)
    /// when a user with that id exists already, notification account or not.
    /// </summary>
    Task<bool> CreateAsync(UserRecord user, int level, CancellationToken cancellationToken = default);

    /// <summary>The account, or null when <paramref name="userId"/> is not a notification account.</summary>
    Task<NotificationAccount?> GetAsync(string userId, CancellationToken cancellationToken = default);

    /// <summary>The notification accounts among <paramref name="userIds"/> (any order).</summary>
    Task<IReadOnlyList<NotificationAccount>> GetManyAsync(IReadOnlyCollection<string> userIds, CancellationToken cancellationToken = default);

    /// <summary>
    /// Accounts whose id or nickname contains <paramref name="keyword"/> (case-insensitive for ASCII; all when null or empty),
    /// optionally only of <paramref name="level"/>, ordered by id; <paramref name="offset"/>/<paramref name="limit"/> page them.
    /// </summary>
    Task<NotificationAccountPage> SearchAsync(string? keyword, int? level, int offset, int limit, CancellationToken cancellationToken = default);
}
