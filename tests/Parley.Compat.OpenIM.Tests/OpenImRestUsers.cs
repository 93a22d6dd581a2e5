using System.Net.Http.Headers;
using System.Text.Json;
using Google.Protobuf;
using Parley.Protocol.V1;
using Parley.Sdk;

namespace Parley.Compat.OpenIM.Tests;

/// <summary>Test helpers for the user-token REST calls: registered users with a token, native clients, protobuf posts.</summary>
internal static class OpenImRestUsers
{
    public static string NewUserId(string prefix) => $"{prefix}-{Guid.NewGuid():N}"[..(prefix.Length + 13)];

    /// <summary>Registers a user and returns its id and a Web (platform 5) token, which also works on the native gateway.</summary>
    public static async Task<(string UserId, string Token)> RegisterAsync(this OpenImTestServer server, string prefix, string? nickname = null)
    {
        var admin = await server.AdminTokenAsync();
        var userId = NewUserId(prefix);
        var registered = await server.PostAsync("/user/user_register", new { users = new[] { new { userID = userId, nickname = nickname ?? prefix + " nick", faceURL = "https://example.com/" + prefix + ".png" } } }, admin);
        Assert.Equal(0, registered.GetProperty("errCode").GetInt32());
        var token = await server.PostAsync("/auth/get_user_token", new { platformID = 5, userID = userId }, admin);
        Assert.Equal(0, token.GetProperty("errCode").GetInt32());
        return (userId, token.GetProperty("data").GetProperty("token").GetString()!);
    }

    public static async Task<Recorder> ConnectNativeAsync(this OpenImTestServer server, string token)
    {
        var client = new ParleyClient(new ParleyClientOptions
        {
            ServerUri = server.WebSocketUri,
            Token = token,
            DeviceId = OpenImPlatforms.DeviceId(5),
            Platform = Platform.Web,
            LocalState = new InMemoryParleyClientState(),
            ReconnectInitialDelay = TimeSpan.FromMilliseconds(50),
            ReconnectMaxDelay = TimeSpan.FromSeconds(1),
        });
        var recorder = new Recorder(client);
        await client.ConnectAsync();
        return recorder;
    }

    /// <summary>POSTs a protobuf body the way the JS SDK's <c>/jssdk</c> calls do; returns the envelope.</summary>
    public static async Task<JsonElement> PostProtoAsync(this OpenImTestServer server, string path, byte[] body, string token)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = new ByteArrayContent(body) };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/x-protobuf");
        request.Headers.Add("operationID", "op-proto");
        request.Headers.Add("token", token);
        using var response = await server.Http.SendAsync(request);
        Assert.Equal(System.Net.HttpStatusCode.OK, response.StatusCode);
        using var document = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        return document.RootElement.Clone();
    }

    /// <summary>Calls a <c>/jssdk</c> endpoint and decodes the base64 protobuf in <c>data</c>.</summary>
    public static async Task<T> CallProtoAsync<T>(this OpenImTestServer server, string path, IMessage request, string token, MessageParser<T> parser)
        where T : IMessage<T>
    {
        var response = await server.PostProtoAsync(path, request.ToByteArray(), token);
        Assert.Equal(0, response.GetProperty("errCode").GetInt32());
        return parser.ParseFrom(Convert.FromBase64String(response.GetProperty("data").GetString()!));
    }

    public static void AssertOk(JsonElement response) =>
        Assert.True(response.GetProperty("errCode").GetInt32() == 0, "expected success, got " + response.GetRawText());

    public static void AssertError(JsonElement response, int errCode)
    {
        Assert.True(response.GetProperty("errCode").GetInt32() == errCode, $"expected errCode {errCode}, got " + response.GetRawText());
        Assert.False(string.IsNullOrEmpty(response.GetProperty("errMsg").GetString()));
        Assert.False(response.TryGetProperty("data", out _));
    }
}
