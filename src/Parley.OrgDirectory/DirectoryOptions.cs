using System.ComponentModel.DataAnnotations;

namespace Parley.OrgDirectory;

/// <summary>Who may read the directory through the native protocol.</summary>
public enum DirectoryVisibility
{
    /// <summary>Every signed-in user.</summary>
    AllUsers,

    /// <summary>Only users who are members of at least one department; others receive an empty directory.</summary>
    DirectoryMembers,
}

/// <summary>Organisation directory settings, bound to <c>Parley:Directory</c>.</summary>
public sealed class DirectoryOptions
{
    public const string Section = "Parley:Directory";

    /// <summary>When false, clients get UNSUPPORTED for SyncDirectoryRequest and the directory admin API answers 404.</summary>
    public bool Enabled { get; set; } = true;

    public DirectoryVisibility VisibleTo { get; set; } = DirectoryVisibility.AllUsers;

    /// <summary>
    /// Tombstones older than this many versions are purged; a client whose version is older than the purge horizon
    /// gets a full reset instead of a delta.
    /// </summary>
    [Range(1, long.MaxValue)]
    public long TombstoneRetentionVersions { get; set; } = 100_000;

    /// <summary>Rows per import batch: each batch is one transaction and at most one change event.</summary>
    [Range(1, 100_000)]
    public int ImportBatchSize { get; set; } = 500;

    /// <summary>Largest accepted import body.</summary>
    [Range(1, int.MaxValue)]
    public int MaxImportBytes { get; set; } = 16 * 1024 * 1024;

    /// <summary>Per-line errors kept per import job (the count is always exact).</summary>
    [Range(1, 1_000_000)]
    public int MaxImportErrors { get; set; } = 1000;

    /// <summary>Finished import jobs kept for status queries (oldest forgotten first).</summary>
    [Range(1, 10_000)]
    public int RetainedImportJobs { get; set; } = 100;
}
