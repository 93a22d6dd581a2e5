namespace Parley.Abstractions.Push;

/// <summary>How pushes present a message. Values are stored; never renumber.</summary>
public enum PushPrivacySetting
{
    Full = 0,
    SenderOnly = 1,
    Generic = 2,
}

/// <summary>A user's push settings (all devices).</summary>
public sealed record PushSettings(bool DoNotDisturb, PushPrivacySetting Privacy)
{
    public static readonly PushSettings Default = new(false, PushPrivacySetting.Full);

    /// <summary>The user refuses marketing campaigns (service notifications and chat pushes are not affected).</summary>
    public bool MarketingOptOut { get; init; }
}

/// <summary>Per-user push settings.</summary>
public interface IPushSettingsStore
{
    /// <summary>The user's settings, or <see cref="PushSettings.Default"/>.</summary>
    Task<PushSettings> GetAsync(string userId, CancellationToken cancellationToken = default);

    /// <summary>Changes the non-null settings.</summary>
    Task SetAsync(string userId, bool? doNotDisturb, PushPrivacySetting? privacy, long updatedAt, CancellationToken cancellationToken = default);

    /// <summary>Sets the user's marketing opt-out.</summary>
    Task SetMarketingOptOutAsync(string userId, bool optOut, long updatedAt, CancellationToken cancellationToken = default);

    /// <summary>The settings of those of <paramref name="userIds"/> that have any (the others have <see cref="PushSettings.Default"/>).</summary>
    Task<IReadOnlyDictionary<string, PushSettings>> GetManyAsync(IReadOnlyCollection<string> userIds, CancellationToken cancellationToken = default);
}
