using System.Globalization;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Parley.Abstractions.Accounts;
using Parley.Core;

namespace Parley.Compat.OpenIM.Rest;

/// <summary>What the friends and groups endpoints share: acting-user checks, profile lookups, error mapping, versions.</summary>
internal static class SocialRestSupport
{
    /// <summary>
    /// Prefix of the <c>versionID</c> this edge hands out for incremental syncs. The rest is the server time (Unix ms)
    /// of the answer, so the next call knows which rows are new since (insert) and which only changed (update).
    /// </summary>
    public const string VersionIdPrefix = "parley-";

    public static OpenImResponse Args(string detail) => OpenImResponse.Error(OpenImErrors.Args, "ArgsError", detail);

    /// <summary>
    /// The applicant and the answer of a friend or group application response: <c>fromUserID</c> and <c>handleResult</c>
    /// (1 agree, -1 reject). Returns the refusal (1001) or null.
    /// </summary>
    public static OpenImResponse? ReadApplicationAnswer(System.Text.Json.JsonElement body, out string from, out bool accept)
    {
        from = SocialJson.Str(body, "fromUserID") ?? string.Empty;
        accept = false;
        if (!Parley.Protocol.Ids.IsValid(from))
        {
            return Args("fromUserID is required");
        }

        switch (SocialJson.Int(body, "handleResult"))
        {
            case 1:
                accept = true;
                return null;
            case -1:
                return null;
            default:
                return Args("handleResult must be 1 (agree) or -1 (reject)");
        }
    }

    public static OpenImResponse NoPermission(string detail) => OpenImResponse.Error(OpenImErrors.NoPermission, "NoPermissionError", detail);

    /// <summary>
    /// A body's acting user id (fromUserID, ownerUserID, userID…) must be the caller's; empty means the caller. Returns
    /// the refusal (1002) or null.
    /// </summary>
    public static OpenImResponse? NotCaller(string? bodyUserId, string caller, string field) =>
        string.IsNullOrEmpty(bodyUserId) || string.Equals(bodyUserId, caller, StringComparison.Ordinal)
            ? null
            : NoPermission(field + " must be the token's user");

    public static async Task<Dictionary<string, UserRecord>> ProfilesAsync(HttpContext context, IEnumerable<string> userIds)
    {
        var ids = userIds.Where(id => !string.IsNullOrEmpty(id)).Distinct(StringComparer.Ordinal).ToArray();
        if (ids.Length == 0)
        {
            return new Dictionary<string, UserRecord>(StringComparer.Ordinal);
        }

        var accounts = context.RequestServices.GetRequiredService<IAccountStore>();
        var users = await accounts.GetUsersAsync(ids, context.RequestAborted).ConfigureAwait(false);
        return users.ToDictionary(u => u.UserId, StringComparer.Ordinal);
    }

    public static UserInfoJson User(Dictionary<string, UserRecord> profiles, string userId) =>
        UserInfoJson.From(userId, profiles.GetValueOrDefault(userId));

    public static long Now(HttpContext context) =>
        context.RequestServices.GetRequiredService<TimeProvider>().GetUtcNow().ToUnixTimeMilliseconds();

    public static string VersionId(long now) => VersionIdPrefix + now.ToString(CultureInfo.InvariantCulture);

    /// <summary>
    /// The time of a previous answer from its <c>versionID</c>, or null when the client must get everything (first sync,
    /// a versionID this server did not issue, or version 0).
    /// </summary>
    public static long? PreviousTime(string? versionId, long version)
    {
        if (version <= 0 || versionId is null || !versionId.StartsWith(VersionIdPrefix, StringComparison.Ordinal))
        {
            return null;
        }

        return long.TryParse(versionId.AsSpan(VersionIdPrefix.Length), NumberStyles.None, CultureInfo.InvariantCulture, out var time) ? time : null;
    }

    /// <summary>A core refusal as the OpenIM error of the one table (<see cref="OpenImErrors.FromCore"/>).</summary>
    public static OpenImResponse MapError(CoreError error, string? message, int notFound = OpenImErrors.RecordNotFound, int conflict = OpenImErrors.Duplicate)
    {
        var code = OpenImErrors.FromCore(error, notFound, conflict);
        return OpenImResponse.Error(code, OpenImErrors.Name(code), message ?? string.Empty);
    }
}
