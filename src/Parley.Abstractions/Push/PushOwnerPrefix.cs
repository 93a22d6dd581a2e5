namespace Parley.Abstractions.Push;

/// <summary>The LIKE pattern (escape character '!') of <see cref="IPushJournal.AdoptAsync"/>'s previous-incarnation prefix.</summary>
public static class PushOwnerPrefix
{
    /// <summary>
    /// Owners starting with <paramref name="prefix"/>, its LIKE wildcards escaped; for null, the empty owner only (rows
    /// journaled before owners existed, which hold no lease and are adoptable anyway).
    /// </summary>
    public static string LikePattern(string? prefix) =>
        prefix is null
            ? ""
            : prefix.Replace("!", "!!", StringComparison.Ordinal).Replace("%", "!%", StringComparison.Ordinal).Replace("_", "!_", StringComparison.Ordinal) + "%";
}
