using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;

namespace Parley.Push.Tests.Simulators;

internal static class JsonHelpers
{
    public static JsonNode? TryParse(byte[] body)
    {
        try
        {
            return JsonNode.Parse(body);
        }
        catch (System.Text.Json.JsonException)
        {
            return null;
        }
    }

    public static byte[] B64Url(string s)
    {
        var t = s.Replace('-', '+').Replace('_', '/');
        return Convert.FromBase64String(t.PadRight(t.Length + ((4 - (t.Length % 4)) % 4), '='));
    }

    public static string ToB64Url(byte[] b) => Convert.ToBase64String(b).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    /// <summary>Splits and checks an ES256 JWS; returns header and claims, or null when the signature is wrong.</summary>
    public static (JsonNode Header, JsonNode Claims)? VerifyEs256(string jwt, ECDsa key)
    {
        var parts = jwt.Split('.');
        if (parts.Length != 3)
        {
            return null;
        }

        try
        {
            var ok = key.VerifyData(Encoding.ASCII.GetBytes(parts[0] + "." + parts[1]), B64Url(parts[2]), HashAlgorithmName.SHA256, DSASignatureFormat.IeeeP1363FixedFieldConcatenation);
            return ok ? (JsonNode.Parse(B64Url(parts[0]))!, JsonNode.Parse(B64Url(parts[1]))!) : null;
        }
        catch (FormatException)
        {
            return null;
        }
    }

    public static (JsonNode Header, JsonNode Claims)? VerifyRs256(string jwt, RSA key)
    {
        var parts = jwt.Split('.');
        if (parts.Length != 3)
        {
            return null;
        }

        var ok = key.VerifyData(Encoding.ASCII.GetBytes(parts[0] + "." + parts[1]), B64Url(parts[2]), HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        return ok ? (JsonNode.Parse(B64Url(parts[0]))!, JsonNode.Parse(B64Url(parts[1]))!) : null;
    }
}
