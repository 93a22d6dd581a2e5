namespace Parley.Abstractions.Admin;

/// <summary>One admin or operator action.</summary>
/// <param name="Id">Assigned by the store, increasing; 0 before it is stored.</param>
/// <param name="At">Unix milliseconds.</param>
/// <param name="Actor">"admin" (the admin secret) or "operator:{tokenId}" ({name} in <paramref name="ActorName"/>).</param>
/// <param name="Action">A stable action name, e.g. <c>users.create</c>.</param>
/// <param name="Target">What it acted on, e.g. <c>user:alice</c> or a resource path.</param>
/// <param name="Remote">The client's address.</param>
/// <param name="Status">The HTTP status the action ended with.</param>
/// <param name="Detail">Short, non-secret detail (never a token, secret or message body).</param>
public sealed record AuditEntry(long Id, long At, string Actor, string ActorName, string Action, string Target, string Remote, int Status, string Detail);

/// <summary>Filters of an audit query; null means any. Newest first; <paramref name="BeforeId"/> pages backwards.</summary>
/// <param name="Since">Unix milliseconds, inclusive.</param>
/// <param name="Until">Unix milliseconds, exclusive.</param>
public sealed record AuditQuery(string? Actor, string? Action, string? Target, long? Since, long? Until, long? BeforeId, int Limit);

/// <summary>The durable audit log. Thread-safe.</summary>
public interface IAuditStore
{
    /// <summary>Appends an entry durably; returns its id.</summary>
    Task<long> AppendAuditAsync(AuditEntry entry, CancellationToken cancellationToken = default);

    /// <summary>Entries matching <paramref name="query"/>, newest first, at most <see cref="AuditQuery.Limit"/>.</summary>
    Task<IReadOnlyList<AuditEntry>> QueryAuditAsync(AuditQuery query, CancellationToken cancellationToken = default);
}
