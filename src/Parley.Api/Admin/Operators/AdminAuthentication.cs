using System.Security.Claims;
using System.Security.Cryptography;
using System.Text;
using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Parley.Abstractions.Admin;

namespace Parley.Api.Admin.Operators;

/// <summary>
/// Authenticates the admin API from the <c>Authorization: Bearer</c> header alone (the admin secret or an operator
/// token), so it runs before anything reads the request body. Refusals are the API's JSON error shape.
/// </summary>
public sealed class AdminAuthenticationHandler(
    IOptionsMonitor<AuthenticationSchemeOptions> options,
    ILoggerFactory logger,
    UrlEncoder encoder,
    IOptions<AdminOptions> admin,
    IOperatorStore operators,
    AuditWriter audit,
    TimeProvider time)
    : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
{
    public const string SchemeName = "ParleyAdmin";
    public const string ScopeClaim = "parley:scope";
    public const string ActorClaim = "parley:actor";
    public const string ActorNameClaim = "parley:actor_name";

    /// <summary>The actor of the admin secret in the audit log.</summary>
    public const string AdminActor = "admin";

    protected override async Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        var header = Request.Headers.Authorization.ToString();
        const string Scheme = "Bearer ";
        if (!header.StartsWith(Scheme, StringComparison.Ordinal) || header.Length == Scheme.Length)
        {
            return AuthenticateResult.NoResult();
        }

        var presented = header[Scheme.Length..].Trim();
        if (OperatorTokens.TryParse(presented, out var tokenId, out var secret))
        {
            var record = await operators.GetOperatorTokenAsync(tokenId, Context.RequestAborted).ConfigureAwait(false);
            var now = time.GetUtcNow().ToUnixTimeMilliseconds();
            if (record is null || !CryptographicOperations.FixedTimeEquals(record.SecretHash, OperatorTokens.Hash(secret)))
            {
                return AuthenticateResult.Fail("unknown operator token");
            }

            if (record.RevokedAt is not null)
            {
                return AuthenticateResult.Fail("revoked operator token");
            }

            if (record.ExpiresAt <= now)
            {
                return AuthenticateResult.Fail("expired operator token");
            }

            return Success("operator:" + record.TokenId, record.Name, record.Scopes);
        }

        var expected = SHA256.HashData(Encoding.UTF8.GetBytes(admin.Value.Secret));
        var actual = SHA256.HashData(Encoding.UTF8.GetBytes(presented));
        return CryptographicOperations.FixedTimeEquals(expected, actual)
            ? Success(AdminActor, AdminActor, [OperatorScopes.All])
            : AuthenticateResult.Fail("wrong admin secret");
    }

    protected override async Task HandleChallengeAsync(AuthenticationProperties properties)
    {
        Response.StatusCode = StatusCodes.Status401Unauthorized;
        Response.Headers.WWWAuthenticate = "Bearer";
        await Response.WriteAsJsonAsync(
            new ErrorResponse(new ErrorBody("unauthenticated", "A valid admin secret or operator token is required (Authorization: Bearer).")),
            cancellationToken: Context.RequestAborted).ConfigureAwait(false);
    }

    protected override async Task HandleForbiddenAsync(AuthenticationProperties properties)
    {
        await audit.WriteAsync(Context, StatusCodes.Status403Forbidden, "scope missing").ConfigureAwait(false);
        Response.StatusCode = StatusCodes.Status403Forbidden;
        await Response.WriteAsJsonAsync(
            new ErrorResponse(new ErrorBody("forbidden", "The operator token lacks the scope this request needs.")),
            cancellationToken: Context.RequestAborted).ConfigureAwait(false);
    }

    private static AuthenticateResult Success(string actor, string actorName, IEnumerable<string> scopes)
    {
        var claims = new List<Claim> { new(ActorClaim, actor), new(ActorNameClaim, actorName), new(ClaimTypes.Name, actorName) };
        claims.AddRange(scopes.Select(s => new Claim(ScopeClaim, s)));
        var principal = new ClaimsPrincipal(new ClaimsIdentity(claims, SchemeName));
        return AuthenticateResult.Success(new AuthenticationTicket(principal, SchemeName));
    }
}
