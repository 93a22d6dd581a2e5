namespace Parley.Abstractions.Admin;

/// <summary>An operator token: a named, scoped, expiring credential for the admin API. Only a hash of its secret is stored.</summary>
/// <param name="Scopes">Granted scopes (see the admin API's OperatorScopes).</param>
/// <param name="SecretHash">SHA-256 of the token's secret part.</param>
/// <param name="CreatedBy">The actor that issued it ("admin" for the admin secret).</param>
/// <param name="CreatedAt">Unix milliseconds.</param>
/// <param name="ExpiresAt">Unix milliseconds.</param>
/// <param name="RevokedAt">Unix milliseconds, or null while valid.</param>
public sealed record OperatorTokenRecord(
    string TokenId,
    string Name,
    IReadOnlyList<string> Scopes,
    byte[] SecretHash,
    string CreatedBy,
    long CreatedAt,
    long ExpiresAt,
    long? RevokedAt);

/// <summary>Operator tokens of the admin API. Thread-safe.</summary>
public interface IOperatorStore
{
    Task SaveOperatorTokenAsync(OperatorTokenRecord token, CancellationToken cancellationToken = default);

    Task<OperatorTokenRecord?> GetOperatorTokenAsync(string tokenId, CancellationToken cancellationToken = default);

    /// <summary>Every operator token, newest first (revoked and expired ones included).</summary>
    Task<IReadOnlyList<OperatorTokenRecord>> ListOperatorTokensAsync(CancellationToken cancellationToken = default);

    /// <summary>Returns false when it does not exist or was already revoked.</summary>
    Task<bool> RevokeOperatorTokenAsync(string tokenId, long revokedAt, CancellationToken cancellationToken = default);
}
