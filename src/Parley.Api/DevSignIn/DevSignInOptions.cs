using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace Parley.Api.DevSignIn;

/// <summary>
/// The development-only sign-in of the web chat, bound to <c>Parley:DevSignIn</c>. Off by default. When on, anyone who
/// can reach the server gets a token for any user id (the user is created on first sign-in), so the server refuses to
/// start with it in the Production environment: in production the application's own server issues tokens through the
/// admin API.
/// </summary>
public sealed class DevSignInOptions
{
    public const string Section = "Parley:DevSignIn";

    public bool Enabled { get; set; }

    /// <summary>Lifetime of the tokens it issues.</summary>
    public TimeSpan TokenLifetime { get; set; } = TimeSpan.FromHours(12);
}

/// <summary>Refuses <see cref="DevSignInOptions.Enabled"/> in the Production environment.</summary>
public sealed class DevSignInOptionsValidator(IHostEnvironment environment) : IValidateOptions<DevSignInOptions>
{
    public ValidateOptionsResult Validate(string? name, DevSignInOptions options)
    {
        if (options.Enabled && environment.IsProduction())
        {
            return ValidateOptionsResult.Fail(
                "Parley:DevSignIn:Enabled lets anyone sign in as any user and is refused in the Production environment. " +
                "For a local trial run with ASPNETCORE_ENVIRONMENT=Development; in production your app server issues tokens through the admin API.");
        }

        if (options.TokenLifetime < TimeSpan.FromMinutes(1) || options.TokenLifetime > TimeSpan.FromDays(30))
        {
            return ValidateOptionsResult.Fail("Parley:DevSignIn:TokenLifetime must be between 1 minute and 30 days.");
        }

        return ValidateOptionsResult.Success;
    }
}
