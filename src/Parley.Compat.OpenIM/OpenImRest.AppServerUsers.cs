using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Parley.Abstractions.Accounts;
using Parley.Compat.OpenIM.Rest;
using Parley.Compat.OpenIM.WebSocket;
using Parley.Gateway.Connections;
using Parley.Protocol;

namespace Parley.Compat.OpenIM;

/// <summary>
/// OpenIM's app-server user calls (admin token): <c>/user/account_check</c>, <c>/user/get_users_online_status</c> and
/// <c>/user/get_users_online_token_detail</c>. Online means a live connection (native or OpenIM) on this node or, in a
/// cluster, on another node as that node last reported it (<see cref="IRemoteConnections"/>, ADR 0016). Parley keeps no
/// token in clear, so the token detail lists token ids where OpenIM lists tokens.
/// </summary>
internal static partial class OpenImRest
{
    private const int MaxCheckedUsers = 1000;

    static partial void MapAppServerUsers(RouteGroupBuilder group)
    {
        Route(group, "/user/account_check", OpenImAuth.Admin, AccountCheckAsync);
        Route(group, "/user/get_users_online_status", OpenImAuth.Admin, (context, body, caller) => Task.FromResult(OnlineStatus(context, body)));
        Route(group, "/user/get_users_online_token_detail", OpenImAuth.Admin, (context, body, caller) => Task.FromResult(OnlineTokenDetail(context, body)));
    }

    private static async Task<OpenImResponse> AccountCheckAsync(HttpContext context, JsonElement body, string? caller)
    {
        var ids = SocialJson.StrList(body, "checkUserIDs");
        if (ids.Count is 0 or > MaxCheckedUsers)
        {
            return OpenImResponse.Error(OpenImErrors.Args, "ArgsError", $"checkUserIDs must name 1..{MaxCheckedUsers} users");
        }

        var valid = ids.Where(Ids.IsValid).Distinct(StringComparer.Ordinal).ToList();
        var known = valid.Count == 0 ? [] : (await context.RequestServices.GetRequiredService<IAccountStore>().GetUsersAsync(valid, context.RequestAborted).ConfigureAwait(false))
            .Select(u => u.UserId).ToHashSet(StringComparer.Ordinal);
        var results = ids.Distinct(StringComparer.Ordinal)
            .Select(id => new AccountCheckJson(id, known.Contains(id) ? "registered" : "unregistered"))
            .ToList();
        return OpenImResponse.Ok(new AccountCheckData(results));
    }

    private static OpenImResponse OnlineStatus(HttpContext context, JsonElement body)
    {
        if (OnlineUserIds(body) is not { } ids)
        {
            return OpenImResponse.Error(OpenImErrors.Args, "ArgsError", $"userIDs must name 1..{MaxCheckedUsers} users");
        }

        var online = OnlineConnections.Of(context.RequestServices);
        var result = ids.Select(id =>
        {
            var live = online.Get(id);
            return new OnlineStatusJson(
                id,
                live.Count > 0 ? 1 : 0,
                live.Count == 0 ? null : [.. live.Select(c => new PlatformStatusJson(c.PlatformId, "online", c.ConnectionId, c.Background))]);
        }).ToList();
        return OpenImResponse.Ok(result);
    }

    private static OpenImResponse OnlineTokenDetail(HttpContext context, JsonElement body)
    {
        if (OnlineUserIds(body) is not { } ids)
        {
            return OpenImResponse.Error(OpenImErrors.Args, "ArgsError", $"userIDs must name 1..{MaxCheckedUsers} users");
        }

        var online = OnlineConnections.Of(context.RequestServices);
        var result = new List<TokenDetailJson>();
        foreach (var id in ids)
        {
            var live = online.Get(id);
            if (live.Count == 0)
            {
                continue;
            }

            result.Add(new TokenDetailJson(id, 1, [.. live
                .GroupBy(c => c.PlatformId)
                .OrderBy(g => g.Key)
                .Select(g =>
                {
                    // A node of an older version reports no token ids (empty): its connections count as online, without a token id.
                    List<string> tokens = [.. g.Select(c => c.TokenId).Where(t => t.Length > 0).Distinct(StringComparer.Ordinal)];
                    return new PlatformTokensJson(g.Key, tokens, tokens.Count);
                })]));
        }

        return OpenImResponse.Ok(result);
    }

    private static List<string>? OnlineUserIds(JsonElement body)
    {
        var ids = SocialJson.StrList(body, "userIDs");
        return ids.Count is 0 or > MaxCheckedUsers ? null : [.. ids.Distinct(StringComparer.Ordinal)];
    }
}

/// <summary>A user's live connections on every node: this node's registry now, the other nodes' last reports.</summary>
internal sealed class OnlineConnections(ConnectionRegistry registry, IRemoteConnections? remote)
{
    public static OnlineConnections Of(IServiceProvider services) =>
        new(services.GetRequiredService<ConnectionRegistry>(), services.GetService<IRemoteConnections>());

    public List<OnlineConnection> Get(string userId)
    {
        var live = registry.ConnectionsOf(userId)
            .Where(c => !c.IsClosing)
            .Select(c => new OnlineConnection(OpenImSession.OpenImPlatformOf(c), c.Id, c.TokenId, c.Background))
            .ToList();
        if (remote is not null)
        {
            live.AddRange(remote.ConnectionsOf(userId)
                .Select(c => new OnlineConnection(OpenImSession.OpenImPlatformOf(c.DeviceId, c.Platform), c.ConnectionId, c.TokenId, c.Background)));
        }

        return live;
    }
}

internal readonly record struct OnlineConnection(int PlatformId, string ConnectionId, string TokenId, bool Background);

internal sealed record AccountCheckJson(
    [property: JsonPropertyName("userID")] string UserId,
    [property: JsonPropertyName("accountStatus")] string AccountStatus);

internal sealed record AccountCheckData([property: JsonPropertyName("results")] List<AccountCheckJson> Results);

internal sealed record PlatformStatusJson(
    [property: JsonPropertyName("platformID")] int PlatformId,
    [property: JsonPropertyName("status")] string Status,
    [property: JsonPropertyName("connID")] string ConnId,
    [property: JsonPropertyName("isBackground")] bool IsBackground);

internal sealed record OnlineStatusJson(
    [property: JsonPropertyName("userID")] string UserId,
    [property: JsonPropertyName("status")] int Status,
    [property: JsonPropertyName("detailPlatformStatus")] List<PlatformStatusJson>? DetailPlatformStatus);

internal sealed record PlatformTokensJson(
    [property: JsonPropertyName("platformID")] int PlatformId,
    [property: JsonPropertyName("token")] List<string> Token,
    [property: JsonPropertyName("total")] int Total);

internal sealed record TokenDetailJson(
    [property: JsonPropertyName("userID")] string UserId,
    [property: JsonPropertyName("status")] int Status,
    [property: JsonPropertyName("singlePlatformToken")] List<PlatformTokensJson> SinglePlatformToken);
