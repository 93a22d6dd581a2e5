using Microsoft.Extensions.Options;

namespace Parley.Api.Admin;

/// <summary>Admin API settings, bound to <c>Parley:Admin</c>.</summary>
public sealed class AdminOptions
{
    public const string Section = "Parley:Admin";

    /// <summary>The bearer secret of the admin API: at least 32 characters, not a sample value.</summary>
    public string Secret { get; set; } = string.Empty;

    /// <summary>Largest request body of an admin route (the directory import has its own cap). Default 1 MiB.</summary>
    public long MaxBodyBytes { get; set; } = 1024 * 1024;

    /// <summary>Lifetime of an operator token when the request names none. Default 8 hours.</summary>
    public TimeSpan OperatorTokenDefaultLifetime { get; set; } = TimeSpan.FromHours(8);

    /// <summary>Longest lifetime an operator token may have. Default 90 days.</summary>
    public TimeSpan OperatorTokenMaxLifetime { get; set; } = TimeSpan.FromDays(90);
}

/// <summary>The server refuses to start with an empty, short or sample admin secret.</summary>
public sealed class AdminOptionsValidator : IValidateOptions<AdminOptions>
{
    public const int MinimumLength = 32;

    private static readonly string[] SampleFragments = ["change-me", "changeme", "change_me", "example", "sample", "secret", "password", "openim123", "parley"];

    public ValidateOptionsResult Validate(string? name, AdminOptions options)
    {
        var secret = options.Secret ?? string.Empty;
        if (secret.Length == 0)
        {
            return ValidateOptionsResult.Fail("Parley:Admin:Secret is not set. Set it, e.g. export Parley__Admin__Secret=$(openssl rand -hex 32).");
        }

        if (secret.Length < MinimumLength)
        {
            return ValidateOptionsResult.Fail($"Parley:Admin:Secret must be at least {MinimumLength} characters.");
        }

        if (SampleFragments.Any(f => secret.Contains(f, StringComparison.OrdinalIgnoreCase)) || secret.Distinct().Count() < 8)
        {
            return ValidateOptionsResult.Fail("Parley:Admin:Secret looks like a sample value; generate a random one.");
        }

        if (options.MaxBodyBytes is < 1024 or > 64 * 1024 * 1024)
        {
            return ValidateOptionsResult.Fail("Parley:Admin:MaxBodyBytes must be between 1024 and 67108864.");
        }

        if (options.OperatorTokenDefaultLifetime < TimeSpan.FromMinutes(1) || options.OperatorTokenMaxLifetime < options.OperatorTokenDefaultLifetime)
        {
            return ValidateOptionsResult.Fail("Parley:Admin:OperatorTokenDefaultLifetime must be at least 1 minute and at most OperatorTokenMaxLifetime.");
        }

        return ValidateOptionsResult.Success;
    }
}
