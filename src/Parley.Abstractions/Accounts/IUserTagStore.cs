namespace Parley.Abstractions.Accounts;

/// <summary>
/// Tags an app server puts on its users (a segment, a plan, a region: <c>vip</c>, <c>plan:pro</c>), for selecting
/// campaign audiences (table <c>user_tags</c>). A tag is 1..<see cref="MaxLength"/> characters of ASCII letters, digits and
/// <c>_ - . :</c>, compared ordinally; a user has at most <see cref="MaxPerUser"/>. Thread-safe.
/// </summary>
public interface IUserTagStore
{
    public const int MaxLength = 64;
    public const int MaxPerUser = 32;

    /// <summary>Replaces the user's tags with <paramref name="tags"/> (duplicates ignored; empty removes them all), in one transaction.</summary>
    Task SetAsync(string userId, IReadOnlyCollection<string> tags, CancellationToken cancellationToken = default);

    /// <summary>The user's tags in ordinal order (empty for none or an unknown user).</summary>
    Task<IReadOnlyList<string>> GetAsync(string userId, CancellationToken cancellationToken = default);

    /// <summary>
    /// Users with any of <paramref name="tags"/> (or, with <paramref name="matchAll"/>, every one of them), in ordinal
    /// user-id order after <paramref name="afterUserId"/>, at most <paramref name="limit"/>.
    /// </summary>
    Task<IReadOnlyList<string>> ListUsersAsync(IReadOnlyCollection<string> tags, bool matchAll, string? afterUserId, int limit, CancellationToken cancellationToken = default);

    /// <summary>Whether <paramref name="tag"/> is a well-formed tag.</summary>
    public static bool IsValid(string? tag) =>
        tag is { Length: > 0 and <= MaxLength } && tag.All(c => char.IsAsciiLetterOrDigit(c) || c is '_' or '-' or '.' or ':');
}
