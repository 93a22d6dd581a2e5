using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using Parley.Cli.Internal;
using Parley.Storage.Sqlite;

namespace Parley.Cli.Commands;

/// <summary>Upkeep of the full-text search index of a data directory (issue 18, stop 33).</summary>
internal static class SearchCommands
{
    private const string DatabaseFile = "parley.db";

    /// <summary>
    /// <c>search-optimize --data-dir DIR</c>: merges the SQLite full-text index into one segment (FTS5's <c>optimize</c>)
    /// with the server stopped, e.g. after a bulk import or a reindexing migration. The server's indexer reaches the same
    /// shape in bounded background steps; this does it in one write.
    /// </summary>
    public static Command Optimize()
    {
        var dataDir = new Option<string>("--data-dir") { Description = "The data directory (server stopped)", Required = true };
        var command = Args.Command("search-optimize", "Merge the full-text search index into one segment (server stopped; the server merges in the background too)", dataDir);
        command.SetAction(ParleyCli.Local(async (p, o, ct) =>
        {
            var path = Path.Combine(Path.GetFullPath(p.GetValue(dataDir)!), DatabaseFile);
            if (!File.Exists(path))
            {
                throw new CliException($"No database at '{path}'.", 2);
            }

            var schema = await SqliteDatabase.VerifyFileAsync(path, ct).ConfigureAwait(false);
            if (schema.Pending.Count > 0)
            {
                throw new CliException($"'{path}' has pending migrations; run 'parley migrate --data-dir' first.", 2);
            }

            var database = new SqliteDatabase(new SqliteStoreOptions { DataSource = path });
            await using (database.ConfigureAwait(false))
            {
                await database.InitializeAsync(ct).ConfigureAwait(false);
                var store = new SqliteMessageStore(database);
                await using (store.ConfigureAwait(false))
                {
                    var before = await store.ReadSearchIndexShapeAsync(ct).ConfigureAwait(false);
                    var clock = Stopwatch.StartNew();
                    var after = await store.OptimizeSearchIndexAsync(ct).ConfigureAwait(false);
                    if (o.Json)
                    {
                        DataCommands.WriteJson(new Dictionary<string, object?>
                        {
                            ["database"] = path,
                            ["segmentsBefore"] = before.Segments,
                            ["segmentsAfter"] = after.Segments,
                            ["leafPagesBefore"] = before.LeafPages,
                            ["leafPagesAfter"] = after.LeafPages,
                            ["milliseconds"] = clock.ElapsedMilliseconds,
                        });
                    }
                    else
                    {
                        ParleyCli.Done(o, string.Create(CultureInfo.InvariantCulture, $"search index of {path}: {before.Segments} segments ({before.LeafPages} leaf pages) -> {after.Segments} ({after.LeafPages}) in {clock.Elapsed.TotalSeconds:F1} s"));
                    }
                }
            }

            return 0;
        }));
        return command;
    }
}
