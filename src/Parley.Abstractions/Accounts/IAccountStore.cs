namespace Parley.Abstractions.Accounts;

/// <summary>A registered user.</summary>
/// <param name="Ex">Application-defined JSON, stored verbatim.</param>
/// <param name="CreatedAt">Unix milliseconds.</param>
public sealed record UserRecord(string UserId, string Nickname, string AvatarUrl, string Ex, long CreatedAt, long UpdatedAt);

/// <summary>An issued device token. Only its id is stored; the token itself is signed and never stored.</summary>
/// <param name="Platform">The protocol's Platform value.</param>
/// <param name="IssuedAt">Unix milliseconds.</param>
/// <param name="ExpiresAt">Unix milliseconds.</param>
/// <param name="RevokedAt">Unix milliseconds, or null while valid.</param>
public sealed record TokenRecord(string TokenId, string UserId, string DeviceId, int Platform, long IssuedAt, long ExpiresAt, long? RevokedAt);

/// <summary>Users and token ids. Thread-safe.</summary>
public interface IAccountStore
{
    Task InitializeAsync(CancellationToken cancellationToken = default);

    /// <summary>Returns false when the user id is taken.</summary>
    Task<bool> CreateUserAsync(UserRecord user, CancellationToken cancellationToken = default);

    /// <summary>Updates the non-null fields. Returns false when the user does not exist.</summary>
    Task<bool> UpdateUserAsync(string userId, string? nickname, string? avatarUrl, string? ex, long updatedAt, CancellationToken cancellationToken = default);

    Task<UserRecord?> GetUserAsync(string userId, CancellationToken cancellationToken = default);

    /// <summary>The users among <paramref name="userIds"/> that exist.</summary>
    Task<IReadOnlyList<UserRecord>> GetUsersAsync(IReadOnlyCollection<string> userIds, CancellationToken cancellationToken = default);

    Task SaveTokenAsync(TokenRecord token, CancellationToken cancellationToken = default);

    Task<TokenRecord?> GetTokenAsync(string tokenId, CancellationToken cancellationToken = default);

    /// <summary>Revokes one token. Returns false when it does not exist or was already revoked.</summary>
    Task<bool> RevokeTokenAsync(string tokenId, long revokedAt, CancellationToken cancellationToken = default);

    /// <summary>Revokes every valid token of a user (optionally only one device's). Returns the ids revoked.</summary>
    Task<IReadOnlyList<string>> RevokeUserTokensAsync(string userId, string? deviceId, long revokedAt, CancellationToken cancellationToken = default);

    /// <summary>Deletes tokens that expired before <paramref name="now"/>. Returns how many.</summary>
    Task<int> DeleteExpiredTokensAsync(long now, CancellationToken cancellationToken = default);
}
