using Microsoft.Extensions.Logging;

namespace Parley.OrgDirectory;

/// <summary>Log events of the directory (event ids 7000–7099).</summary>
internal static partial class DirectoryLog
{
    [LoggerMessage(EventId = 7101, Level = LogLevel.Information, Message = "Directory changed: {Rows} rows written, now at version {Version}")]
    public static partial void DirectoryChanged(ILogger logger, int rows, long version);

    [LoggerMessage(EventId = 7102, Level = LogLevel.Information, Message = "Directory tombstones purged up to version {Horizon}: {Purged} rows")]
    public static partial void TombstonesPurged(ILogger logger, long horizon, int purged);

    [LoggerMessage(EventId = 7103, Level = LogLevel.Information, Message = "Directory import {JobId} queued: {Total} rows, atomic={Atomic}")]
    public static partial void ImportQueued(ILogger logger, string jobId, int total, bool atomic);

    [LoggerMessage(EventId = 7104, Level = LogLevel.Information, Message = "Directory import {JobId} finished {State}: {Applied} applied, {Errors} errors of {Total}")]
    public static partial void ImportFinished(ILogger logger, string jobId, string state, int applied, int errors, int total);

    [LoggerMessage(EventId = 7105, Level = LogLevel.Error, Message = "Directory import {JobId} failed")]
    public static partial void ImportCrashed(ILogger logger, Exception exception, string jobId);
}
