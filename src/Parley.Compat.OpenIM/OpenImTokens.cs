using Parley.Core.Auth;

namespace Parley.Compat.OpenIM;

/// <summary>Parley's token verdicts as OpenIM's token error codes, which the SDK turns into its own events.</summary>
internal static class OpenImTokens
{
    /// <summary>
    /// Expired → 1501 (OnUserTokenExpired); revoked (force logout, displaced login) → 1506 (OnKickedOffline);
    /// malformed → 1503 and anything else → 1502 (OnUserTokenInvalid).
    /// </summary>
    public static int ErrorCode(TokenStatus status) => status switch
    {
        TokenStatus.Expired => OpenImErrors.TokenExpired,
        TokenStatus.Revoked => OpenImErrors.TokenKicked,
        TokenStatus.Malformed => OpenImErrors.TokenMalformed,
        _ => OpenImErrors.TokenInvalid,
    };
}
