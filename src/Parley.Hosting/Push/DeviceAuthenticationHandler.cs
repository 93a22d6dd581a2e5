using System.Security.Claims;
using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Parley.Core.Auth;

namespace Parley.Hosting.Push;

/// <summary>
/// Authenticates the client HTTP API (<c>/api/v1</c>) from the device token in <c>Authorization: Bearer</c>, before the
/// body is read; the identity (user, device) comes from the token only.
/// </summary>
internal sealed class DeviceAuthenticationHandler(
    IOptionsMonitor<AuthenticationSchemeOptions> options,
    ILoggerFactory logger,
    UrlEncoder encoder,
    TokenService tokens)
    : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
{
    public const string SchemeName = "ParleyDevice";
    private const string IdentityKey = "parley.identity";

    public static TokenIdentity Identity(HttpContext context) => (TokenIdentity)context.Items[IdentityKey]!;

    protected override async Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        var header = Request.Headers.Authorization.ToString();
        const string Scheme = "Bearer ";
        if (!header.StartsWith(Scheme, StringComparison.Ordinal) || header.Length == Scheme.Length)
        {
            return AuthenticateResult.NoResult();
        }

        var (status, identity) = await tokens.ValidateAsync(header[Scheme.Length..], Context.RequestAborted).ConfigureAwait(false);
        if (status != TokenStatus.Valid || identity is null)
        {
            return AuthenticateResult.Fail("invalid device token");
        }

        Context.Items[IdentityKey] = identity;
        var principal = new ClaimsPrincipal(new ClaimsIdentity([new Claim(ClaimTypes.NameIdentifier, identity.UserId)], SchemeName));
        return AuthenticateResult.Success(new AuthenticationTicket(principal, SchemeName));
    }

    protected override async Task HandleChallengeAsync(AuthenticationProperties properties)
    {
        Response.StatusCode = StatusCodes.Status401Unauthorized;
        Response.Headers.WWWAuthenticate = "Bearer";
        await Response.WriteAsJsonAsync(new { error = new { code = "unauthenticated", message = "A valid device token is required." } }, Context.RequestAborted).ConfigureAwait(false);
    }
}

internal static class DeviceAuthenticationExtensions
{
    public static AuthenticationBuilder AddParleyDeviceAuthentication(this AuthenticationBuilder builder) =>
        builder.AddScheme<AuthenticationSchemeOptions, DeviceAuthenticationHandler>(DeviceAuthenticationHandler.SchemeName, null);
}
