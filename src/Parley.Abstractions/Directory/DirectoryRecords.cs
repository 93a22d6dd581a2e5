namespace Parley.Abstractions.Directory;

/// <summary>A department of the organisation directory.</summary>
/// <param name="ParentId">Empty for a root department.</param>
/// <param name="Order">Sort order among siblings.</param>
/// <param name="Ex">Application-defined JSON, stored verbatim.</param>
public sealed record DepartmentRecord(string DepartmentId, string ParentId, string Name, int Order, string Ex);

/// <summary>A user's membership of one department (a user may belong to several).</summary>
/// <param name="Order">Sort order among the department's members.</param>
/// <param name="Ex">Application-defined JSON, stored verbatim.</param>
public sealed record DepartmentMemberRecord(string DepartmentId, string UserId, string Position, int Order, string Email, string Phone, string Ex);

/// <summary>Identifies a membership.</summary>
public readonly record struct DepartmentMemberKey(string DepartmentId, string UserId);

/// <summary>
/// The directory as of <paramref name="Version"/>: either everything (<paramref name="FullReset"/>) or what changed
/// after a version, with deletes as tombstones.
/// </summary>
public sealed record DirectoryChanges(
    long Version,
    bool FullReset,
    IReadOnlyList<DepartmentRecord> Departments,
    IReadOnlyList<string> DeletedDepartmentIds,
    IReadOnlyList<DepartmentMemberRecord> Members,
    IReadOnlyList<DepartmentMemberKey> DeletedMembers);

/// <summary>The directory-wide counters.</summary>
/// <param name="Version">The highest committed directory version (0 when nothing was ever written).</param>
/// <param name="PurgeHorizon">Tombstones with a version at or below this were purged; older client versions need a full reset.</param>
public readonly record struct DirectoryState(long Version, long PurgeHorizon);

/// <summary>How a save treats an existing row.</summary>
public enum DirectorySaveMode
{
    /// <summary>Fails with <see cref="DirectoryError.AlreadyExists"/> when the row exists (tombstones do not count).</summary>
    Create,

    /// <summary>Inserts or replaces.</summary>
    Upsert,
}

/// <summary>One write to the directory. A batch of them is applied by <see cref="IDirectoryStore.ApplyAsync"/>.</summary>
public abstract record DirectoryChange;

/// <summary>Creates or replaces a department (a changed parent is a move and is checked for cycles).</summary>
public sealed record SaveDepartment(DepartmentRecord Department, DirectorySaveMode Mode) : DirectoryChange;

/// <summary>Changes the non-null fields of an existing department. A new <paramref name="ParentId"/> is a move ("" = root).</summary>
public sealed record UpdateDepartment(string DepartmentId, string? ParentId = null, string? Name = null, int? Order = null, string? Ex = null) : DirectoryChange;

/// <summary>Deletes a department. Without <paramref name="Cascade"/> it must have no child departments and no members.</summary>
public sealed record DeleteDepartment(string DepartmentId, bool Cascade) : DirectoryChange;

/// <summary>Adds or replaces a membership. The department must exist; the user's existence is the caller's check.</summary>
public sealed record SaveMember(DepartmentMemberRecord Member, DirectorySaveMode Mode) : DirectoryChange;

/// <summary>Changes the non-null fields of an existing membership.</summary>
public sealed record UpdateMember(
    string DepartmentId,
    string UserId,
    string? Position = null,
    int? Order = null,
    string? Email = null,
    string? Phone = null,
    string? Ex = null) : DirectoryChange;

/// <summary>Removes a membership.</summary>
public sealed record RemoveMember(string DepartmentId, string UserId) : DirectoryChange;

/// <summary>Why a directory change was refused.</summary>
public enum DirectoryError
{
    None,

    /// <summary>The department or membership does not exist.</summary>
    NotFound,

    /// <summary>Create of a department or membership that exists.</summary>
    AlreadyExists,

    /// <summary>The parent department does not exist.</summary>
    ParentNotFound,

    /// <summary>A membership names a department that does not exist.</summary>
    DepartmentNotFound,

    /// <summary>The move would make a department its own ancestor.</summary>
    Cycle,

    /// <summary>Delete without cascade of a department that has child departments.</summary>
    HasChildren,

    /// <summary>Delete without cascade of a department that has members.</summary>
    HasMembers,

    /// <summary>An atomic batch was rolled back because another change in it failed.</summary>
    NotApplied,
}

/// <summary>The outcome of one change.</summary>
public readonly record struct DirectoryChangeResult(DirectoryError Error, string? Message)
{
    public static DirectoryChangeResult Ok => default;

    public bool Succeeded => Error == DirectoryError.None;
}

/// <summary>The outcome of a batch.</summary>
/// <param name="Version">The directory version after the batch (unchanged when nothing was written).</param>
/// <param name="RowsWritten">Rows stamped with a new version (each got its own).</param>
/// <param name="Results">One per change, in order.</param>
public sealed record DirectoryApplyResult(long Version, int RowsWritten, IReadOnlyList<DirectoryChangeResult> Results);
