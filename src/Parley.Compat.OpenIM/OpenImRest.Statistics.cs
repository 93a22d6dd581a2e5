using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Parley.Abstractions.Accounts;
using Parley.Abstractions.Admin;
using Parley.Abstractions.Messaging;
using Parley.Abstractions.Statistics;
using Parley.Compat.OpenIM.Rest;
using Parley.Core.Statistics;

namespace Parley.Compat.OpenIM;

/// <summary>
/// OpenIM's app-server user list and activity statistics (admin token): <c>/user/get_users</c> (paged, filtered by
/// user id or nickname), <c>/statistics/user/active</c> and <c>/statistics/group/active</c> (user messages per sender
/// or group in a range of UTC days, from the daily activity counts).
/// </summary>
internal static partial class OpenImRest
{
    private const long DayMs = 86_400_000;
    private const int MaxStatisticsDays = 366;

    static partial void MapStatistics(RouteGroupBuilder group)
    {
        Route(group, "/user/get_users", OpenImAuth.Admin, GetUsersAsync);
        Route(group, "/statistics/user/active", OpenImAuth.Admin, (context, body, caller) => ActiveAsync(context, body, groups: false));
        Route(group, "/statistics/group/active", OpenImAuth.Admin, (context, body, caller) => ActiveAsync(context, body, groups: true));
    }

    private static async Task<OpenImResponse> GetUsersAsync(HttpContext context, JsonElement body, string? caller)
    {
        var (offset, count) = SocialJson.Page(body, max: 1000);
        var userId = SocialJson.Str(body, "userID");
        var nickname = SocialJson.Str(body, "nickName") ?? SocialJson.Str(body, "nickname");
        var page = await context.RequestServices.GetRequiredService<IAdminQueryStore>()
            .PageUsersAsync(string.IsNullOrEmpty(userId) ? null : userId, string.IsNullOrEmpty(nickname) ? null : nickname, offset, count, context.RequestAborted)
            .ConfigureAwait(false);
        return OpenImResponse.Ok(new GetUsersData(page.Total, [.. page.Users.Select(u => UserProfileJson.From(u))]));
    }

    /// <summary>
    /// <c>{start, end, group?, ase?, pagination}</c> (unix ms): every UTC day that overlaps [start, end) counts whole
    /// (Parley keeps daily counts). Users: messages sent in 1:1 conversations, and in groups too with <c>group: true</c>.
    /// </summary>
    private static async Task<OpenImResponse> ActiveAsync(HttpContext context, JsonElement body, bool groups)
    {
        var start = SocialJson.Long(body, "start") ?? 0;
        var end = SocialJson.Long(body, "end") ?? 0;
        if (start < 0 || end <= start)
        {
            return OpenImResponse.Error(OpenImErrors.Args, "ArgsError", "start must be before end (unix milliseconds)");
        }

        var fromDay = (int)(start / DayMs);
        var toDay = (int)Math.Min((end + DayMs - 1) / DayMs, int.MaxValue);
        if (toDay - fromDay > MaxStatisticsDays)
        {
            return OpenImResponse.Error(OpenImErrors.Args, "ArgsError", $"the range spans more than {MaxStatisticsDays} days");
        }

        var (offset, count) = SocialJson.Page(body, max: 1000);
        var ascending = body.TryGetProperty("ase", out var ase) && ase.ValueKind == JsonValueKind.True;
        ActivityKind[] kinds = groups
            ? [ActivityKind.Group]
            : body.TryGetProperty("group", out var g) && g.ValueKind == JsonValueKind.True ? [ActivityKind.DirectSender, ActivityKind.GroupSender] : [ActivityKind.DirectSender];

        // This node's counts of the last seconds first, so what it committed is in the answer.
        await context.RequestServices.GetRequiredService<ActivityCounter>().FlushAsync(context.RequestAborted).ConfigureAwait(false);
        var totals = await context.RequestServices.GetRequiredService<IActivityStore>()
            .QueryAsync(fromDay, toDay, kinds, ascending, offset, count, context.RequestAborted).ConfigureAwait(false);
        var dates = totals.PerDay.ToDictionary(
            d => DateTimeOffset.FromUnixTimeMilliseconds(d.Key * DayMs).ToString("yyyy-MM-dd", CultureInfo.InvariantCulture),
            d => d.Value,
            StringComparer.Ordinal);
        var ids = totals.Page.Select(p => p.SubjectId).ToList();
        if (groups)
        {
            var known = ids.Count == 0 ? [] : (await context.RequestServices.GetRequiredService<IGroupStore>().GetGroupsAsync(ids, context.RequestAborted).ConfigureAwait(false))
                .ToDictionary(r => r.GroupId, StringComparer.Ordinal);
            return OpenImResponse.Ok(new ActiveGroupData(totals.Messages, totals.Subjects, dates, [.. totals.Page.Select(p => new ActiveGroupJson(
                known.TryGetValue(p.SubjectId, out var record) ? GroupJson.Info(record) : GroupJson.Unknown(p.SubjectId),
                p.Count))]));
        }

        var users = ids.Count == 0 ? [] : (await context.RequestServices.GetRequiredService<IAccountStore>().GetUsersAsync(ids, context.RequestAborted).ConfigureAwait(false))
            .ToDictionary(u => u.UserId, StringComparer.Ordinal);
        return OpenImResponse.Ok(new ActiveUserData(totals.Messages, totals.Subjects, dates, [.. totals.Page.Select(p => new ActiveUserJson(
            users.TryGetValue(p.SubjectId, out var user) ? UserProfileJson.From(user) : new UserProfileJson { UserId = p.SubjectId, Nickname = p.SubjectId },
            p.Count))]));
    }
}

internal sealed record GetUsersData(
    [property: JsonPropertyName("total")] long Total,
    [property: JsonPropertyName("users")] IReadOnlyList<UserProfileJson> Users);

internal sealed record ActiveUserJson(
    [property: JsonPropertyName("user")] UserProfileJson User,
    [property: JsonPropertyName("count")] long Count);

internal sealed record ActiveUserData(
    [property: JsonPropertyName("msgCount")] long MsgCount,
    [property: JsonPropertyName("userCount")] long UserCount,
    [property: JsonPropertyName("dateCount")] IReadOnlyDictionary<string, long> DateCount,
    [property: JsonPropertyName("users")] IReadOnlyList<ActiveUserJson> Users);

internal sealed record ActiveGroupJson(
    [property: JsonPropertyName("group")] GroupInfoJson Group,
    [property: JsonPropertyName("count")] long Count);

internal sealed record ActiveGroupData(
    [property: JsonPropertyName("msgCount")] long MsgCount,
    [property: JsonPropertyName("groupCount")] long GroupCount,
    [property: JsonPropertyName("dateCount")] IReadOnlyDictionary<string, long> DateCount,
    [property: JsonPropertyName("groups")] IReadOnlyList<ActiveGroupJson> Groups);
