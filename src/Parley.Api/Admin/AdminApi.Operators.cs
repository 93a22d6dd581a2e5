using System.Security.Claims;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Options;
using Parley.Abstractions.Admin;
using Parley.Api.Admin.Operators;

namespace Parley.Api.Admin;

/// <summary>
/// Operator tokens: issued, listed and revoked with the admin secret only; <c>GET /admin/v1/session</c> tells any valid
/// credential who it is and what it may do (the console signs in with it).
/// </summary>
public static partial class AdminApi
{
    private static void MapOperatorTokens(RouteGroupBuilder group)
    {
        var operators = group.MapGroup("/operators").RequireParleyAdmin(OperatorScopes.Operators);
        operators.MapPost("", IssueOperatorTokenAsync).WithName("operators.issue");
        operators.MapGet("", ListOperatorTokensAsync).WithName("operators.list");
        operators.MapDelete("/{tokenId}", RevokeOperatorTokenAsync).WithName("operators.revoke");
        group.MapGet("/session", Session).WithName("session").RequireParleyAdmin(OperatorScopes.Self);
    }

    private static async Task<IResult> IssueOperatorTokenAsync(HttpContext http, IssueOperatorTokenRequest request, IOperatorStore store, IOptions<AdminOptions> options, TimeProvider time)
    {
        var name = request.Name?.Trim() ?? string.Empty;
        if (name.Length is 0 or > 64)
        {
            return Fail(400, "bad_request", "name must be 1..64 characters (who or what uses the token).");
        }

        var scopes = (request.Scopes ?? []).Select(s => s.Trim().ToLowerInvariant()).Distinct(StringComparer.Ordinal).ToArray();
        var unknown = scopes.Where(s => !OperatorScopes.Grantable.Contains(s)).ToArray();
        if (scopes.Length == 0 || unknown.Length > 0)
        {
            return Fail(400, "bad_request", $"scopes must list at least one of {string.Join(", ", OperatorScopes.Grantable)}" + (unknown.Length > 0 ? $"; unknown: {string.Join(", ", unknown)}." : "."));
        }

        var o = options.Value;
        if (request.TtlSeconds is { } ttl && (ttl < 60 || ttl > o.OperatorTokenMaxLifetime.TotalSeconds))
        {
            return Fail(400, "bad_request", $"ttlSeconds must be between 60 and {(long)o.OperatorTokenMaxLifetime.TotalSeconds}.");
        }

        var now = time.GetUtcNow().ToUnixTimeMilliseconds();
        var lifetime = request.TtlSeconds is { } seconds ? TimeSpan.FromSeconds(seconds) : o.OperatorTokenDefaultLifetime;
        var (token, tokenId, hash) = OperatorTokens.Create();
        var record = new OperatorTokenRecord(tokenId, name, scopes, hash, http.User.FindFirstValue(AdminAuthenticationHandler.ActorClaim) ?? "admin", now, now + (long)lifetime.TotalMilliseconds, null);
        await store.SaveOperatorTokenAsync(record).ConfigureAwait(false);
        AuditWriter.SetTarget(http, "operator:" + tokenId);
        AuditWriter.SetDetail(http, $"name={name} scopes={string.Join(',', scopes)}");
        return Results.Created($"/admin/v1/operators/{tokenId}", new IssueOperatorTokenResponse(token, OperatorTokenResponse.From(record, now)));
    }

    private static async Task<IResult> ListOperatorTokensAsync(IOperatorStore store, TimeProvider time)
    {
        var now = time.GetUtcNow().ToUnixTimeMilliseconds();
        return Results.Ok((await store.ListOperatorTokensAsync().ConfigureAwait(false)).Select(t => OperatorTokenResponse.From(t, now)).ToList());
    }

    private static async Task<IResult> RevokeOperatorTokenAsync(HttpContext http, string tokenId, IOperatorStore store, TimeProvider time)
    {
        AuditWriter.SetTarget(http, "operator:" + tokenId);
        if (await store.GetOperatorTokenAsync(tokenId).ConfigureAwait(false) is null)
        {
            return Fail(404, "not_found", "No such operator token.");
        }

        await store.RevokeOperatorTokenAsync(tokenId, time.GetUtcNow().ToUnixTimeMilliseconds()).ConfigureAwait(false);
        return Results.NoContent();
    }

    private static IResult Session(HttpContext http)
    {
        var user = http.User;
        var scopes = user.FindAll(AdminAuthenticationHandler.ScopeClaim).Select(c => c.Value).ToArray();
        return Results.Ok(new SessionResponse(
            user.FindFirstValue(AdminAuthenticationHandler.ActorClaim) ?? string.Empty,
            user.FindFirstValue(AdminAuthenticationHandler.ActorNameClaim) ?? string.Empty,
            scopes.Contains(OperatorScopes.All) ? [OperatorScopes.All, .. OperatorScopes.Grantable, OperatorScopes.Operators] : scopes));
    }
}

/// <param name="Scopes">Any of read, users, groups, directory, push, audit.</param>
/// <param name="TtlSeconds">Lifetime; default Parley:Admin:OperatorTokenDefaultLifetime, at most OperatorTokenMaxLifetime.</param>
public sealed record IssueOperatorTokenRequest(string? Name, string[]? Scopes, long? TtlSeconds);

/// <param name="Token">The bearer token, shown once; only a hash of its secret is stored.</param>
public sealed record IssueOperatorTokenResponse(string Token, OperatorTokenResponse Info);

public sealed record OperatorTokenResponse(string TokenId, string Name, IReadOnlyList<string> Scopes, string CreatedBy, long CreatedAt, long ExpiresAt, long? RevokedAt, bool Active)
{
    public static OperatorTokenResponse From(OperatorTokenRecord t, long now) =>
        new(t.TokenId, t.Name, t.Scopes, t.CreatedBy, t.CreatedAt, t.ExpiresAt, t.RevokedAt, t.RevokedAt is null && t.ExpiresAt > now);
}

/// <param name="Actor">"admin" or "operator:{tokenId}".</param>
public sealed record SessionResponse(string Actor, string Name, IReadOnlyList<string> Scopes);
