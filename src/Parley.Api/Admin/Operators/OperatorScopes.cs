namespace Parley.Api.Admin.Operators;

/// <summary>
/// Scopes of operator tokens. Each admin route group belongs to an area; GET/HEAD on an area needs the area's scope or
/// <see cref="Read"/>, anything else needs the area's scope. The audit log needs <see cref="Audit"/> (not granted by
/// <see cref="Read"/>), and operator tokens themselves are managed only with the admin secret.
/// </summary>
public static class OperatorScopes
{
    public const string Read = "read";
    public const string Users = "users";
    public const string Groups = "groups";
    public const string Directory = "directory";
    public const string Push = "push";
    public const string Audit = "audit";

    /// <summary>Backups and per-user data export and erasure: everything Parley stores, so not granted by <see cref="Read"/>.</summary>
    public const string Data = "data";

    /// <summary>The app server's business API: send as any user or notification account, notification accounts.</summary>
    public const string Business = "business";

    /// <summary>The after-hook outbox: its counts, dead letters and their replay.</summary>
    public const string Webhooks = "webhooks";

    /// <summary>The admin secret's pseudo-scope: everything, including operator tokens.</summary>
    public const string All = "*";

    /// <summary>The area of operator-token management (admin secret only).</summary>
    public const string Operators = "operators";

    /// <summary>The area every valid credential may read (who am I).</summary>
    public const string Self = "self";

    public static readonly IReadOnlyList<string> Grantable = [Read, Users, Groups, Directory, Push, Audit, Data, Business, Webhooks];

    /// <summary>Whether <paramref name="granted"/> allows a request with <paramref name="method"/> on <paramref name="area"/>.</summary>
    public static bool Allows(IReadOnlyCollection<string> granted, string area, string method)
    {
        if (granted.Contains(All))
        {
            return true;
        }

        if (area == Self)
        {
            return true;
        }

        if (area == Operators)
        {
            return false;
        }

        if (granted.Contains(area))
        {
            return true;
        }

        var read = HttpMethodsIsRead(method);
        return read && area != Audit && area != Data && granted.Contains(Read);
    }

    private static bool HttpMethodsIsRead(string method) =>
        string.Equals(method, "GET", StringComparison.OrdinalIgnoreCase) || string.Equals(method, "HEAD", StringComparison.OrdinalIgnoreCase);
}
