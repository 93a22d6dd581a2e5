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

    /// <summary>
    /// How long a node holds a super group's bulk membership job without recording a finished chunk before another node
    /// (or this one after a restart) may take it over. Default 1 minute.
    /// </summary>
    public TimeSpan BulkJobLease { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>Users per chunk of a bulk membership job (one grain commit each), 1..1000. Default 1000.</summary>
    public int BulkJobChunkSize { get; set; } = SuperGroupJobs.ChunkSize;

    /// <summary>A pause between the chunks of a bulk membership job, to pace a large import. Default none.</summary>
    public TimeSpan BulkJobChunkInterval { get; set; } = TimeSpan.Zero;

    /// <summary>
    /// How often an idle node looks for super groups whose member delta reached the store's compaction bound and compacts
    /// them, one at a time (ADR 0021; only with a store that packs members: PostgreSQL). Zero: never when idle (bulk jobs
    /// still compact between their chunks). Default 30 seconds.
    /// </summary>
    public TimeSpan MemberCompactionInterval { get; set; } = TimeSpan.FromSeconds(30);
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

        if (options.BulkJobLease < TimeSpan.FromSeconds(1) || options.BulkJobChunkSize is < 1 or > SuperGroupJobs.ChunkSize
            || options.BulkJobChunkInterval < TimeSpan.Zero || options.BulkJobChunkInterval >= options.BulkJobLease
            || options.MemberCompactionInterval < TimeSpan.Zero)
        {
            return ValidateOptionsResult.Fail("Parley:Admin:BulkJobLease must be at least 1 second, BulkJobChunkSize 1..1000, BulkJobChunkInterval from 0 to less than the lease, and MemberCompactionInterval not negative.");
        }

        return ValidateOptionsResult.Success;
    }
}
