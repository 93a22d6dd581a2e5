using System.Globalization;
using System.Text;
using System.Text.Json;

namespace Parley.Compat.OpenIM.WebSocket;

/// <summary>The connect arguments OpenIM clients put in the query string (or base64url JSON in <c>v</c>).</summary>
internal sealed record OpenImConnectArgs(
    string SendId,
    string Token,
    int PlatformId,
    string OperationId,
    bool IsMsgResp,
    string SdkType,
    bool IsBackground,
    string Compression);

/// <summary>Parses and checks the connect arguments (msggateway context.go); failures are errCode 1602 ConnArgsErr.</summary>
internal static class OpenImHandshake
{
    private const int MaxLength = 4096;

    /// <summary>
    /// Parses the raw query. The JS SDK appends values without URL-encoding, so values are taken as they are and only
    /// unescaped when they contain '%' (a client that does encode them).
    /// </summary>
    public static OpenImConnectArgs? TryParse(string rawQuery, out string error)
    {
        error = string.Empty;
        if (rawQuery.Length > MaxLength)
        {
            error = "query too long";
            return null;
        }

        var query = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var part in rawQuery.TrimStart('?').Split('&', StringSplitOptions.RemoveEmptyEntries))
        {
            var eq = part.IndexOf('=', StringComparison.Ordinal);
            var key = eq < 0 ? part : part[..eq];
            var value = eq < 0 ? string.Empty : part[(eq + 1)..];
            if (value.Contains('%', StringComparison.Ordinal))
            {
                try
                {
                    value = Uri.UnescapeDataString(value);
                }
                catch (UriFormatException)
                {
                    // Keep the raw value; validation below decides.
                }
            }

            query.TryAdd(key, value);
        }

        if (query.TryGetValue("v", out var v) && v.Length > 0 && !query.ContainsKey("sendID"))
        {
            return FromV(v, out error);
        }

        query.TryGetValue("sendID", out var sendId);
        query.TryGetValue("token", out var token);
        query.TryGetValue("platformID", out var platform);
        query.TryGetValue("operationID", out var operationId);
        query.TryGetValue("isMsgResp", out var isMsgResp);
        query.TryGetValue("sdkType", out var sdkType);
        query.TryGetValue("isBackground", out var isBackground);
        query.TryGetValue("compression", out var compression);
        return Check(sendId, token, platform, operationId, isMsgResp, sdkType, isBackground, compression, out error);
    }

    private static OpenImConnectArgs? FromV(string v, out string error)
    {
        string json;
        try
        {
            var base64 = v.Replace('-', '+').Replace('_', '/');
            base64 = base64.PadRight(base64.Length + ((4 - (base64.Length % 4)) % 4), '=');
            json = Encoding.UTF8.GetString(Convert.FromBase64String(base64));
        }
        catch (FormatException)
        {
            error = "v is not base64url";
            return null;
        }

        try
        {
            using var document = JsonDocument.Parse(json);
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                error = "v is not a JSON object";
                return null;
            }

            string? Get(string name) => root.TryGetProperty(name, out var p)
                ? p.ValueKind switch
                {
                    JsonValueKind.String => p.GetString(),
                    JsonValueKind.Number => p.GetRawText(),
                    JsonValueKind.True => "true",
                    JsonValueKind.False => "false",
                    _ => null,
                }
                : null;
            return Check(Get("userID"), Get("token"), Get("platformID"), Get("operationID"), Get("sendResponse"), Get("sdkType"), Get("background"), Get("compression"), out error);
        }
        catch (JsonException)
        {
            error = "v is not JSON";
            return null;
        }
    }

    private static OpenImConnectArgs? Check(string? sendId, string? token, string? platform, string? operationId, string? isMsgResp, string? sdkType, string? isBackground, string? compression, out string error)
    {
        error = string.Empty;
        if (string.IsNullOrEmpty(operationId))
        {
            error = "operationID is required";
            return null;
        }

        if (string.IsNullOrEmpty(token))
        {
            error = "token is required";
            return null;
        }

        if (string.IsNullOrEmpty(sendId))
        {
            error = "sendID is required";
            return null;
        }

        if (!int.TryParse(platform, NumberStyles.Integer, CultureInfo.InvariantCulture, out var platformId) || !OpenImPlatforms.TryMap(platformId, out _, out _))
        {
            error = "platformID is missing or not a user platform";
            return null;
        }

        var background = false;
        if (!string.IsNullOrEmpty(isBackground) && !bool.TryParse(isBackground, out background))
        {
            error = "isBackground must be true or false";
            return null;
        }

        _ = bool.TryParse(isMsgResp, out var msgResp);
        return new OpenImConnectArgs(sendId, token, platformId, operationId, msgResp, string.IsNullOrEmpty(sdkType) ? "go" : sdkType, background, compression ?? string.Empty);
    }
}
