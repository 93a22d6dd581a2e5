using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;

namespace Parley.Api.Admin.Operators;

/// <summary>
/// Operator token format: <c>pop_{tokenId}.{secret}</c>, tokenId = 16 lowercase hex characters, secret = 43 base64url
/// characters (32 random bytes). Only SHA-256 of the secret is stored.
/// </summary>
public static class OperatorTokens
{
    public const string Prefix = "pop_";
    private const int IdLength = 16;

    public static (string Token, string TokenId, byte[] SecretHash) Create()
    {
        var tokenId = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(IdLength / 2));
        var secret = Base64Url.EncodeToString(RandomNumberGenerator.GetBytes(32));
        return ($"{Prefix}{tokenId}.{secret}", tokenId, Hash(secret));
    }

    /// <summary>Splits a presented token; never throws.</summary>
    public static bool TryParse(string presented, out string tokenId, out string secret)
    {
        tokenId = string.Empty;
        secret = string.Empty;
        if (!presented.StartsWith(Prefix, StringComparison.Ordinal) || presented.Length != Prefix.Length + IdLength + 1 + 43 || presented[Prefix.Length + IdLength] != '.')
        {
            return false;
        }

        var id = presented.AsSpan(Prefix.Length, IdLength);
        foreach (var c in id)
        {
            if (!char.IsAsciiHexDigitLower(c) && !char.IsAsciiDigit(c))
            {
                return false;
            }
        }

        tokenId = id.ToString();
        secret = presented[(Prefix.Length + IdLength + 1)..];
        return true;
    }

    public static byte[] Hash(string secret) => SHA256.HashData(Encoding.UTF8.GetBytes(secret));
}
