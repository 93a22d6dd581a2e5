using System.Collections.Concurrent;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Parley.Abstractions.Accounts;
using Parley.Core.Delivery;
using Parley.OrgDirectory.Import;
using Parley.Protocol.V1;
using Parley.Storage.Sqlite;

namespace Parley.OrgDirectory.Tests;

/// <summary>Records what would go to live connections (directory events as the native frame a client would get).</summary>
public sealed class RecordingHub : IDeliveryHub
{
    public ConcurrentQueue<ServerFrame> Broadcasts { get; } = new();

    public void Publish(IReadOnlyList<string> userIds, DeliveryEvent @event, long version, string? excludeConnectionId)
    {
    }

    public void PublishToGroup(string conversationId, IReadOnlyList<string> joined, IReadOnlyList<string> left, DeliveryEvent @event, long version, string? excludeConnectionId)
    {
    }

    public void PublishEphemeral(IReadOnlyList<string> userIds, DeliveryEvent @event, string? excludeConnectionId)
    {
    }

    public void PublishToAll(DeliveryEvent @event)
    {
        if (@event is DirectoryChanged changed)
        {
            Broadcasts.Enqueue(new ServerFrame { DirectoryChanged = new DirectoryChangedEvent { Version = (ulong)changed.Version } });
        }
    }
}

/// <summary>Real SQLite stores (directory + accounts) on a temp file, the writer and the importer, without a server.</summary>
public sealed class DirectoryFixture : IAsyncDisposable
{
    private readonly string _directory = Path.Combine(Path.GetTempPath(), "parley-directory-" + Guid.NewGuid().ToString("N"));

    private DirectoryFixture(DirectoryOptions options)
    {
        Database = new SqliteDatabase(new SqliteStoreOptions { DataSource = Path.Combine(_directory, "parley.db") });
        Store = new SqliteDirectoryStore(Database);
        Accounts = new SqliteAccountStore(Database);
        Options = options;
        Writer = new DirectoryWriter(Store, Hub, Microsoft.Extensions.Options.Options.Create(options), NullLogger<DirectoryWriter>.Instance);
        Imports = new DirectoryImports(Writer, Accounts, Microsoft.Extensions.Options.Options.Create(options), NullLogger<DirectoryImports>.Instance);
    }

    public SqliteDatabase Database { get; }

    public SqliteDirectoryStore Store { get; }

    public SqliteAccountStore Accounts { get; }

    public RecordingHub Hub { get; } = new();

    public DirectoryOptions Options { get; }

    public DirectoryWriter Writer { get; }

    public DirectoryImports Imports { get; }

    public static async Task<DirectoryFixture> CreateAsync(DirectoryOptions? options = null)
    {
        var fixture = new DirectoryFixture(options ?? new DirectoryOptions());
        await fixture.Store.InitializeAsync();
        await fixture.Accounts.InitializeAsync();
        return fixture;
    }

    public async Task AddUsersAsync(params string[] userIds)
    {
        foreach (var id in userIds)
        {
            Assert.True(await Accounts.CreateUserAsync(new UserRecord(id, id, "", "{}", 1, 1)));
        }
    }

    /// <summary>Parses and runs an import to completion (the worker's code path, awaited directly).</summary>
    public async Task<DirectoryImportStatus> ImportAsync(string content, DirectoryImportFormat format, bool atomic = false, DirectoryImportKind kind = DirectoryImportKind.Auto)
    {
        var bytes = System.Text.Encoding.UTF8.GetBytes(content);
        var plan = DirectoryImportParser.Parse(bytes, format, kind);
        var job = new DirectoryImportJob("test", plan.Total, atomic, Options.MaxImportErrors);
        await Imports.RunAsync(job, plan, CancellationToken.None);
        Assert.True(job.Completion.IsCompleted);
        return job.Snapshot();
    }

    public async ValueTask DisposeAsync()
    {
        await Imports.StopAsync(CancellationToken.None);
        Imports.Dispose();
        Writer.Dispose();
        await Database.DisposeAsync();
        SqliteConnection.ClearAllPools();
        if (System.IO.Directory.Exists(_directory))
        {
            System.IO.Directory.Delete(_directory, recursive: true);
        }
    }
}
