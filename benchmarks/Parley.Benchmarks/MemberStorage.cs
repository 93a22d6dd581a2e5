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
        for (var i = 0; i < args.Length; i++)
        {
            if (args[i] == "--keep")
            {
                keep = true;
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
            var database = new PostgresDatabase(new PostgresStoreOptions { ConnectionString = postgres, Schema = schema, Durable = false });
            await using (database.ConfigureAwait(false))
            {
                var store = new PostgresMessageStore(database);
                await store.InitializeAsync().ConfigureAwait(false);
                try
                {
                    await ImportAsync(store, members, chunk).ConfigureAwait(false);
                    await PrintPostgresSizesAsync(database, schema).ConfigureAwait(false);
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
                await ImportAsync(store, members, chunk).ConfigureAwait(false);
            }
        }

        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"member-storage: total {clock.Elapsed.TotalSeconds:F1} s; database {path}"));
        return 0;
    }

    private static async Task ImportAsync(IMessageStore store, int members, int chunk)
    {
        const string Prefix = "lt0000r1s-";
        const string GroupId = "lt0000r1ss";
        const string Conversation = "sg_" + GroupId;
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
        }

        Console.WriteLine(string.Create(
            CultureInfo.InvariantCulture,
            $"member-storage: {members} members in one super group, {members - 1} imported in chunks of {chunk} in {import.Elapsed.TotalSeconds:F1} s = {(members - 1) / Math.Max(import.Elapsed.TotalSeconds, 1e-3):F0}/s (store only, no grain/API)"));
    }

    /// <summary>
    /// PostgreSQL's counterpart of member-storage.sh's dbstat: the pages of <c>members</c>, its indexes and
    /// <c>conversation_keys</c> (with its indexes), main fork (<c>pg_relation_size</c>: 8 KB pages, free space inside them
    /// included, as dbstat's <c>pgsize</c>), divided by the member rows; and the same with the free-space and visibility
    /// maps (<c>pg_total_relation_size</c>), before and after a plain VACUUM (which writes those maps).
    /// </summary>
    private static async Task PrintPostgresSizesAsync(PostgresDatabase database, string schema)
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
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"postgres rows {rows}, user id {r.GetDecimal(1):F1} characters, inviter id {r.GetDecimal(2):F1}"));
            }

            await using (var version = new NpgsqlCommand("SELECT current_setting('server_version'), current_setting('block_size')", connection))
            await using (var r = await version.ExecuteReaderAsync().ConfigureAwait(false))
            {
                await r.ReadAsync().ConfigureAwait(false);
                Console.WriteLine($"postgres server {r.GetString(0)}, block size {r.GetString(1)}");
            }

            const string Sizes = """
                SELECT c.relname, c.relkind::text, pg_relation_size(c.oid), pg_total_relation_size(c.oid) - CASE WHEN c.relkind = 'r' THEN pg_indexes_size(c.oid) ELSE 0 END
                FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                WHERE n.nspname = $1 AND (c.relname IN ('members', 'conversation_keys')
                    OR c.oid IN (SELECT indexrelid FROM pg_index WHERE indrelid IN (SELECT oid FROM pg_class WHERE relnamespace = n.oid AND relname IN ('members', 'conversation_keys'))))
                ORDER BY c.relkind DESC, c.relname
                """;
            foreach (var label in new[] { "after import", "after VACUUM" })
            {
                if (label == "after VACUUM")
                {
                    foreach (var table in new[] { "members", "conversation_keys" })
                    {
                        // One statement per command: VACUUM cannot run inside the implicit transaction of a multi-statement batch.
                        await using var vacuum = new NpgsqlCommand("VACUUM " + table, connection);
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
                            $"postgres {label}: {r.GetString(0),-28} {(r.GetString(1) == "r" ? "table" : "index"),-6} main {m,12:N0} B = {m / (double)rows,6:F1} B/member; with fsm/vm {t,12:N0} B = {t / (double)rows,6:F1} B/member"));
                    }
                }

                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"postgres {label}: bytes per member {main / (double)rows:F1} (main forks), {total / (double)rows:F1} (with fsm/vm)"));
            }
        }
    }
}
