using System.Diagnostics;
using System.Globalization;
using Npgsql;
using Parley.Abstractions.Messaging;
using Parley.Storage.Postgres;
using Parley.Storage.Sqlite;

namespace Parley.Benchmarks;

/// <summary>
/// <c>member-storage</c>: one super group of N members written straight into the SQLite store (issue 12's storage figure
/// for groups too large to build through the admin API in a session: a 1,000,000-member channel). The commits are the
/// ones a bulk admin job makes: the group created with its owner, then chunks of 1,000 member changes, one commit each
/// (ConversationGrain.Admit: a Member, joined now, invited by the job's operator, visible from seq 1). User, group and
/// conversation ids have the load generator's shapes and lengths (<c>lt0000r1s-N</c>, <c>sg_lt0000r1ss</c>), so the bytes
/// compare with the <c>supergroup</c> scenario's. The database stays in --dir for <c>dbstat</c> (see member-storage.sh).
/// With <c>--postgres CONNECTION</c> the same commits go to the PostgreSQL store in a fresh schema (<c>--schema</c>, dropped
/// afterwards unless <c>--keep</c>), and the tool prints the pages of the same tables and indexes per member itself.
/// With <c>--compact</c> (PostgreSQL) it then compacts the group into packed pages (ADR 0021, migration 25:
/// <c>PostgresMessageStore.CompactSuperGroupAsync</c>), timed, and prints the same figures again with <c>member_pages</c>
/// (its TOAST and its GIN index) counted, after a VACUUM: the un-compacted baseline and the packed layout of one run.
/// With <c>--compact-during</c> (PostgreSQL) the import compacts after each chunk whenever the group's delta reached the
/// bound (<c>CompactSuperGroupIfDueAsync</c>, what <c>SuperGroupJobs</c> does between a bulk job's chunks, ADR 0021 stop 33).
/// Since stop 34 (migration 28) the PostgreSQL store writes an import's new members straight into the group's pages;
/// <c>--import-rows</c> turns that off (<c>PostgresStoreOptions.MemberImportPages = 0</c>: every chunk into rows, as before).
/// </summary>
public static class MemberStorage
{
    public static async Task<int> RunAsync(string[] args)
    {
        var members = 100_000;
        var chunk = 1_000;
        string? dir = null;
        string? postgres = null;
        string? schema = null;
        var keep = false;
        var compact = false;
        var reindex = false;
        var compactDuring = false;
        var importRows = false;
        for (var i = 0; i < args.Length; i++)
        {
            if (args[i] == "--keep")
            {
                keep = true;
                continue;
            }

            if (args[i] == "--compact")
            {
                compact = true;
                continue;
            }

            if (args[i] == "--compact-during")
            {
                compactDuring = true;
                continue;
            }

            if (args[i] == "--import-rows")
            {
                importRows = true;
                continue;
            }

            if (args[i] == "--reindex")
            {
                reindex = true;
                continue;
            }

            if (i + 1 >= args.Length)
            {
                throw new ArgumentException("option " + args[i] + " needs a value");
            }

            switch (args[i])
            {
                case "--members": members = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
                case "--chunk": chunk = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
                case "--dir": dir = args[++i]; break;
                case "--postgres": postgres = args[++i]; break;
                case "--schema": schema = args[++i]; break;
                default: throw new ArgumentException("unknown option " + args[i]);
            }
        }

        var clock = Stopwatch.StartNew();
        if (postgres is not null)
        {
            // PostgreSQL: a fresh schema of the given database (dropped afterwards unless --keep), the same commits.
            schema ??= "member_storage_" + Guid.NewGuid().ToString("N")[..8];
            var database = new PostgresDatabase(new PostgresStoreOptions { ConnectionString = postgres, Schema = schema, Durable = false, MemberImportPages = importRows ? 0 : 64 });
            await using (database.ConfigureAwait(false))
            {
                var store = new PostgresMessageStore(database);
                await store.InitializeAsync().ConfigureAwait(false);
                try
                {
                    await ImportAsync(store, members, chunk, compactDuring ? store : null).ConfigureAwait(false);
                    var rows = await PrintPostgresSizesAsync(database, schema, null, null).ConfigureAwait(false);
                    if (compact)
                    {
                        var timer = Stopwatch.StartNew();
                        var moved = await store.CompactSuperGroupAsync(Conversation).ConfigureAwait(false);
                        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"member-storage: compaction moved {moved} rows into pages in {timer.Elapsed.TotalSeconds:F1} s"));
                        await PrintPostgresSizesAsync(database, schema, rows, "compacted, after VACUUM").ConfigureAwait(false);
                        await CheckReadBackAsync(store, members).ConfigureAwait(false);
                        if (reindex)
                        {
                            // The row table's B-tree pages stay in the file after its rows left (VACUUM frees them for reuse
                            // by later rows, never to the file system): what they cost is what a REINDEX gives back.
                            timer.Restart();
                            var connection = await database.OpenAsync().ConfigureAwait(false);
                            await using (connection.ConfigureAwait(false))
                            {
                                await using var rebuild = new NpgsqlCommand("REINDEX TABLE members", connection) { CommandTimeout = 0 };
                                await rebuild.ExecuteNonQueryAsync().ConfigureAwait(false);
                            }

                            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"member-storage: REINDEX TABLE members in {timer.Elapsed.TotalSeconds:F1} s"));
                            await PrintPostgresSizesAsync(database, schema, rows, "compacted, after VACUUM and REINDEX of members").ConfigureAwait(false);
                        }
                    }
                }
                finally
                {
                    if (!keep)
                    {
                        var connection = await database.OpenAsync().ConfigureAwait(false);
                        await using (connection.ConfigureAwait(false))
                        {
                            await using var drop = new NpgsqlCommand($"DROP SCHEMA \"{schema}\" CASCADE", connection);
                            await drop.ExecuteNonQueryAsync().ConfigureAwait(false);
                        }
                    }
                }
            }

            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"member-storage: total {clock.Elapsed.TotalSeconds:F1} s; schema {schema}{(keep ? " (kept)" : " (dropped)")}"));
            return 0;
        }

        dir ??= Path.Combine(Path.GetTempPath(), "parley-member-storage-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        var path = Path.Combine(dir, "parley.db");
        var sqlite = new SqliteDatabase(new SqliteStoreOptions { DataSource = path, Durable = true });
        await using (sqlite.ConfigureAwait(false))
        {
            var store = new SqliteMessageStore(sqlite);
            await using (store.ConfigureAwait(false))
            {
                await store.InitializeAsync().ConfigureAwait(false);
                await ImportAsync(store, members, chunk, null).ConfigureAwait(false);
            }
        }

        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"member-storage: total {clock.Elapsed.TotalSeconds:F1} s; database {path}"));
        return 0;
    }

    private const string Prefix = "lt0000r1s-";
    private const string GroupId = "lt0000r1ss";
    private const string Conversation = "sg_" + GroupId;

    // After the compaction, through the store's API (rows else slots): the member count of the keyset walk's first
    // pages and a spread sample by id, each with the values the import wrote.
    private static async Task CheckReadBackAsync(PostgresMessageStore store, int members)
    {
        var timer = Stopwatch.StartNew();
        var page = await store.SearchMembersAsync(Conversation, new MemberQuery("", MemberRole.Member, "", 500)).ConfigureAwait(false);
        var firstPage = timer.Elapsed.TotalMilliseconds;
        var sample = Enumerable.Range(0, 100).Select(i => Prefix + ((long)i * (members - 1) / 100 + 1).ToString(CultureInfo.InvariantCulture)).ToArray();
        timer.Restart();
        var found = await store.GetMembersByIdsAsync(Conversation, sample).ConfigureAwait(false);
        var byIds = timer.Elapsed.TotalMilliseconds;
        var ok = found.Count == sample.Length && found.All(m => m.Member.Active && m.Member.InviterId == "admin-operator" && m.Member.VisibleFrom == 1);
        Console.WriteLine(string.Create(
            CultureInfo.InvariantCulture,
            $"member-storage: read back after compaction: total {page.Total}, first page {page.Members.Count} members in {firstPage:F0} ms; {found.Count}/{sample.Length} sampled members by id in {byIds:F0} ms, values {(ok ? "as imported" : "WRONG")}"));
    }

    private static async Task ImportAsync(IMessageStore store, int members, int chunk, ISuperGroupCompaction? compaction)
    {
        var compactions = 0;
        var compacted = 0L;
        var compactTime = TimeSpan.Zero;
        const string Operator = "admin-operator";
        var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        var version = 1L;
        var create = new CommitBatch();
        create.Conversations.Add(new NewConversation(Conversation, ConversationKind.Group, GroupId, "bench", Prefix + "0", now, [Prefix + "0"], version));
        create.Groups.Add(new GroupRecord(GroupId, Conversation, "bench", "", "", "", "{}", Prefix + "0", GroupJoinPolicy.Free, true, false, true, false, now, now, 1, version)
        {
            Kind = GroupKind.Super,
        });
        await store.CommitAsync(create).ConfigureAwait(false);

        var import = Stopwatch.StartNew();
        for (var first = 1; first < members; first += chunk)
        {
            version++;
            var batch = new CommitBatch();
            for (var u = first; u < Math.Min(members, first + chunk); u++)
            {
                batch.MemberChanges.Add(new MemberChange(Conversation, Prefix + u.ToString(CultureInfo.InvariantCulture), MemberRole.Member, "", 0, now, Operator, true, 1, 0, version)
                {
                    ReadSeqFloor = (first - 1) / chunk, // everything before the chunk's notice (its seq) counts as read
                });
            }

            await store.CommitAsync(batch).ConfigureAwait(false);
            if (compaction is not null)
            {
                // What SuperGroupJobs does after each chunk: compact when the group's delta reached the bound.
                var t = Stopwatch.GetTimestamp();
                var moved = await compaction.CompactSuperGroupIfDueAsync(Conversation).ConfigureAwait(false);
                if (moved > 0)
                {
                    compactions++;
                    compacted += moved;
                    compactTime += Stopwatch.GetElapsedTime(t);
                }
            }
        }

        Console.WriteLine(string.Create(
            CultureInfo.InvariantCulture,
            $"member-storage: {members} members in one super group, {members - 1} imported in chunks of {chunk} in {import.Elapsed.TotalSeconds:F1} s = {(members - 1) / Math.Max(import.Elapsed.TotalSeconds, 1e-3):F0}/s (store only, no grain/API)"));
        if (compaction is not null)
        {
            Console.WriteLine(string.Create(
                CultureInfo.InvariantCulture,
                $"member-storage: compacted by the bound between chunks {compactions} times, {compacted} rows moved, {compactTime.TotalSeconds:F1} s of the import"));
        }
    }

    /// <summary>
    /// PostgreSQL's counterpart of member-storage.sh's dbstat: the pages of <c>members</c>, its indexes and
    /// <c>conversation_keys</c> (with its indexes), main fork (<c>pg_relation_size</c>: 8 KB pages, free space inside them
    /// included, as dbstat's <c>pgsize</c>), divided by the member rows; and the same with the free-space and visibility
    /// maps, before and after a plain VACUUM (which writes those maps); TOAST tables (and their indexes) on lines of their own.
    /// </summary>
    internal static async Task<long> PrintPostgresSizesAsync(PostgresDatabase database, string schema, long? members, string? packedLabel)
    {
        var connection = await database.OpenAsync().ConfigureAwait(false);
        await using (connection.ConfigureAwait(false))
        {
            await using var count = new NpgsqlCommand("SELECT COUNT(*), AVG(length(user_id)), AVG(length(inviter_id)) FROM members", connection);
            long rows;
            await using (var r = await count.ExecuteReaderAsync().ConfigureAwait(false))
            {
                await r.ReadAsync().ConfigureAwait(false);
                rows = r.GetInt64(0);
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"postgres rows {rows}, user id {(r.IsDBNull(1) ? 0 : r.GetDecimal(1)):F1} characters, inviter id {(r.IsDBNull(2) ? 0 : r.GetDecimal(2)):F1}"));
            }

            if (members is { } packed)
            {
                // After a compaction the member rows are (nearly) gone: per member is per member of the group, packed or not.
                await using var slots = new NpgsqlCommand("SELECT COUNT(*), COALESCE(SUM(cardinality(user_ids)), 0) FROM member_pages", connection);
                await using (var r = await slots.ExecuteReaderAsync().ConfigureAwait(false))
                {
                    await r.ReadAsync().ConfigureAwait(false);
                    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"postgres packed: {r.GetInt64(1)} members in {r.GetInt64(0)} pages, {rows} member rows left; per member below = per {packed} members"));
                }

                rows = packed;
            }

            await using (var version = new NpgsqlCommand("SELECT current_setting('server_version'), current_setting('block_size')", connection))
            await using (var r = await version.ExecuteReaderAsync().ConfigureAwait(false))
            {
                await r.ReadAsync().ConfigureAwait(false);
                Console.WriteLine($"postgres server {r.GetString(0)}, block size {r.GetString(1)}");
            }

            const string Sizes = """
                SELECT c.relname, c.relkind::text, pg_relation_size(c.oid), pg_relation_size(c.oid) + pg_relation_size(c.oid, 'fsm') + pg_relation_size(c.oid, 'vm')
                FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                WHERE n.nspname = $1 AND (c.relname IN ('members', 'conversation_keys', 'member_pages')
                    OR c.oid IN (SELECT indexrelid FROM pg_index WHERE indrelid IN (SELECT oid FROM pg_class WHERE relnamespace = n.oid AND relname IN ('members', 'conversation_keys', 'member_pages')))
                    OR c.oid IN (SELECT reltoastrelid FROM pg_class WHERE relnamespace = n.oid AND relname IN ('members', 'member_pages'))
                    OR c.oid IN (SELECT indexrelid FROM pg_index WHERE indrelid IN (SELECT reltoastrelid FROM pg_class WHERE relnamespace = n.oid AND relname IN ('members', 'member_pages'))))
                ORDER BY c.relkind DESC, c.relname
                """;
            foreach (var label in members is null ? new[] { "after import", "after VACUUM" } : [packedLabel ?? "compacted"])
            {
                if (label.Contains("after VACUUM", StringComparison.Ordinal))
                {
                    foreach (var table in new[] { "members", "conversation_keys", "member_pages" })
                    {
                        // One statement per command: VACUUM cannot run inside the implicit transaction of a multi-statement batch.
                        await using var vacuum = new NpgsqlCommand("VACUUM " + table, connection) { CommandTimeout = 0 };
                        await vacuum.ExecuteNonQueryAsync().ConfigureAwait(false);
                    }
                }

                await using var sizes = new NpgsqlCommand(Sizes, connection);
                sizes.Parameters.AddWithValue(schema);
                long main = 0, total = 0;
                await using (var r = await sizes.ExecuteReaderAsync().ConfigureAwait(false))
                {
                    while (await r.ReadAsync().ConfigureAwait(false))
                    {
                        var m = r.GetInt64(2);
                        var t = r.GetInt64(3);
                        main += m;
                        total += t;
                        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                            $"postgres {label}: {r.GetString(0),-28} {(r.GetString(1) switch { "r" => "table", "t" => "toast", _ => "index" }),-6} main {m,12:N0} B = {m / (double)rows,6:F1} B/member; with fsm/vm {t,12:N0} B = {t / (double)rows,6:F1} B/member"));
                    }
                }

                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"postgres {label}: bytes per member {main / (double)rows:F1} (main forks), {total / (double)rows:F1} (with fsm/vm)"));
            }

            return rows;
        }
    }
}
