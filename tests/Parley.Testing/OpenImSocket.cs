using System.Net.Http.Json;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;

namespace Parley.Testing;

/// <summary>An OpenIM client's WebSocket on a server process, raw: its tokens from the OpenIM REST API, its frames read as text.</summary>
public static class OpenImSocket
{
    /// <summary>
    /// An OpenIM session (web, platform 5, by default) of <paramref name="userId"/> on <paramref name="node"/>, over a raw
    /// WebSocket, after its handshake answer.
    /// </summary>
    public static async Task<ClientWebSocket> ConnectAsync(ServerProcess node, string secret, string userId, int platform = 5)
    {
        var token = await UserTokenAsync(node, secret, userId, platform);
        var socket = new ClientWebSocket();
        var query = $"sendID={userId}&token={token}&platformID={platform}&operationID=op-{Guid.NewGuid():N}&isBackground=false&isMsgResp=true&sdkType=js";
        await socket.ConnectAsync(new Uri($"ws://127.0.0.1:{node.HttpPort}/openim/ws?{query}"), CancellationToken.None);
        Assert.NotNull(await ReceiveUntilAsync(socket, text => text.Contains("\"errCode\":0", StringComparison.Ordinal), TimeSpan.FromSeconds(20)));
        return socket;
    }

    /// <summary>An OpenIM user token of <paramref name="userId"/> for <paramref name="platform"/> from the node's OpenIM REST edge (an admin token first).</summary>
    public static async Task<string> UserTokenAsync(ServerProcess node, string secret, string userId, int platform = 5)
    {
        var user = await PostAsync(node, "/auth/get_user_token", new { platformID = platform, userID = userId }, await AdminTokenAsync(node, secret));
        return user.GetProperty("token").GetString()!;
    }

    /// <summary>An OpenIM admin (app server) token, <c>imAdmin</c>, from the node's OpenIM REST edge.</summary>
    public static async Task<string> AdminTokenAsync(ServerProcess node, string secret) =>
        (await PostAsync(node, "/auth/get_admin_token", new { secret, userID = "imAdmin" }, null)).GetProperty("token").GetString()!;

    /// <summary>One OpenIM REST call on the node (with an operationID header, and the token if any); asserts errCode 0 and returns <c>data</c>.</summary>
    public static async Task<JsonElement> PostAsync(ServerProcess node, string path, object body, string? token)
    {
        using var http = new HttpClient { BaseAddress = node.BaseUri };
        return await PostAsync(http, path, body, token);
    }

    /// <summary>
    /// Reads frames until one matches: each frame's JSON, with its base64 <c>data</c> (OpenIM's protobuf payload, whose
    /// strings are UTF-8) appended as text so the payload's ids and texts can be matched. Null on timeout or close.
    /// </summary>
    public static async Task<string?> ReceiveUntilAsync(ClientWebSocket socket, Func<string, bool> match, TimeSpan timeout)
    {
        using var cancel = new CancellationTokenSource(timeout);
        var buffer = new byte[64 * 1024];
        try
        {
            while (true)
            {
                using var frame = new MemoryStream();
                WebSocketReceiveResult result;
                do
                {
                    result = await socket.ReceiveAsync(buffer, cancel.Token);
                    frame.Write(buffer, 0, result.Count);
                }
                while (!result.EndOfMessage);

                if (result.MessageType == WebSocketMessageType.Close)
                {
                    return null;
                }

                var text = Encoding.UTF8.GetString(frame.ToArray());
                if (text.StartsWith('{') && JsonDocument.Parse(text).RootElement.TryGetProperty("data", out var data) && data.ValueKind == JsonValueKind.String)
                {
                    text += "\n" + Encoding.UTF8.GetString(Convert.FromBase64String(data.GetString()!));
                }

                if (match(text))
                {
                    return text;
                }
            }
        }
        catch (OperationCanceledException)
        {
            return null;
        }
    }

    private static async Task<JsonElement> PostAsync(HttpClient http, string path, object body, string? token)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = JsonContent.Create(body) };
        request.Headers.Add("operationID", "op-" + Guid.NewGuid().ToString("N"));
        if (token is not null)
        {
            request.Headers.Add("token", token);
        }

        using var response = await http.SendAsync(request);
        using var document = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal(0, document.RootElement.GetProperty("errCode").GetInt32());
        return document.RootElement.GetProperty("data").Clone();
    }
}
