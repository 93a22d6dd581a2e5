using System.Diagnostics.Metrics;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Parley.Core.Telemetry;

namespace Parley.Hosting.Telemetry;

/// <summary>
/// Gauges of the data directory, read at scrape time: free and total bytes of its volume and the size of the SQLite
/// database (with its WAL). The disk-space alerts (deploy/prometheus) use them, so no node exporter is needed.
/// </summary>
internal sealed class StorageMetrics : IHostedService
{
    public StorageMetrics(IMeterFactory meterFactory, IOptions<StorageOptions> storage)
    {
        var directory = Path.GetFullPath(storage.Value.DataDirectory);
        var meter = meterFactory.Create(ParleyMetrics.MeterName);
        meter.CreateObservableGauge("parley.storage.disk.available", () => Drive(directory)?.AvailableFreeSpace ?? 0, "By", "Bytes available to Parley on the data directory's volume.");
        meter.CreateObservableGauge("parley.storage.disk.capacity", () => Drive(directory)?.TotalSize ?? 0, "By", "Size of the data directory's volume.");
        meter.CreateObservableGauge("parley.storage.database.size", () => DatabaseBytes(directory), "By", "Size of the SQLite database in the data directory, WAL included.");
    }

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    private static DriveInfo? Drive(string directory)
    {
        try
        {
            return Directory.Exists(directory) ? new DriveInfo(directory) : null;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or ArgumentException)
        {
            return null;
        }
    }

    private static long DatabaseBytes(string directory)
    {
        long total = 0;
        foreach (var name in (string[])["parley.db", "parley.db-wal", "parley.db-shm"])
        {
            var file = new FileInfo(Path.Combine(directory, name));
            if (file.Exists)
            {
                total += file.Length;
            }
        }

        return total;
    }
}
