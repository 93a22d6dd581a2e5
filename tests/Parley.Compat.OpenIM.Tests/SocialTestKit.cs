using System.Text.Json;

namespace Parley.Compat.OpenIM.Tests;

/// <summary>Registers OpenIM users over REST and calls the user endpoints with their tokens.</summary>
internal sealed class SocialTestKit(OpenImTestServer server)
{
    private string? _admin;

    public static string NewId(string prefix) => $"{prefix}-{Guid.NewGuid():N}"[..(prefix.Length + 13)];

    /// <summary>Registers users (with nicknames "N-{id}") and returns their ids and web tokens.</summary>
    public async Task<(string Id, string Token)[]> UsersAsync(params string[] prefixes)
    {
        _admin ??= await server.AdminTokenAsync();
        var ids = prefixes.Select(NewId).ToArray();
        var registered = await server.PostAsync("/user/user_register", new { users = ids.Select(id => new { userID = id, nickname = "N-" + id, faceURL = "https://example.org/" + id }) }, _admin);
        Assert.Equal(0, registered.GetProperty("errCode").GetInt32());
        var result = new (string, string)[ids.Length];
        for (var i = 0; i < ids.Length; i++)
        {
            var token = await server.PostAsync("/auth/get_user_token", new { platformID = 5, userID = ids[i] }, _admin);
            Assert.Equal(0, token.GetProperty("errCode").GetInt32());
            result[i] = (ids[i], token.GetProperty("data").GetProperty("token").GetString()!);
        }

        return result;
    }

    /// <summary>Calls and asserts success; returns <c>data</c> (an empty object when the answer has none).</summary>
    public async Task<JsonElement> OkAsync(string path, object body, string token)
    {
        var response = await server.PostAsync(path, body, token);
        Assert.True(response.GetProperty("errCode").GetInt32() == 0, $"{path} failed: {response}");
        return response.TryGetProperty("data", out var data) ? data : JsonDocument.Parse("{}").RootElement.Clone();
    }

    /// <summary>Calls and asserts the OpenIM error code.</summary>
    public async Task ErrorAsync(string path, object body, string token, int errCode)
    {
        var response = await server.PostAsync(path, body, token);
        Assert.True(response.GetProperty("errCode").GetInt32() == errCode, $"{path}: expected {errCode}, got {response}");
        Assert.False(response.TryGetProperty("data", out _));
    }

    public static List<JsonElement> List(JsonElement data, string name) =>
        data.TryGetProperty(name, out var list) ? [.. list.EnumerateArray()] : [];

    public static List<string> Strings(JsonElement data, string name) =>
        [.. List(data, name).Select(e => e.GetString()!)];

    public static int Int(JsonElement element, string name) =>
        element.TryGetProperty(name, out var value) ? value.GetInt32() : 0;

    public static string? Str(JsonElement element, string name) =>
        element.TryGetProperty(name, out var value) ? value.GetString() : null;
}
