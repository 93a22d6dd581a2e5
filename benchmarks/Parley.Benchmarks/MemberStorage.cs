using System.Diagnostics;
using System.Globalization;
using Parley.Abstractions.Messaging;
using Parley.Storage.Sqlite;

namespace Parley.Benchmarks;

/// <summary>
/// <c>member-storage</c>: one super group of N members written straight into the SQLite store (issue 12's storage figure
/// for groups too large to build through the admin API in a session: a 1,000,000-member channel). The commits are the
/// ones a bulk admin job makes: the group created with its owner, then chunks of 1,000 member changes, one commit each
/// (ConversationGrain.Admit: a Member, joined now, invited by the job's operator, visible from seq 1). User, group and
/// conversation ids have the load generator's shapes and lengths (<c>lt0000r1s-N</c>, <c>sg_lt0000r1ss</c>), so the bytes
/// compare with the <c>supergroup</c> scenario's. The database stays in --dir for <c>dbstat</c> (see member-storage.sh).
/// </summary>
public static class MemberStorage
{
    public static async Task<int> RunAsync(string[] args)
    {
        var members = 100_000;
        var chunk = 1_000;
        string? dir = null;
        for (var i = 0; i + 1 < args.Length; i += 2)
        {
            switch (args[i])
            {
                case "--members": members = int.Parse(args[i + 1], CultureInfo.InvariantCulture); break;
                case "--chunk": chunk = int.Parse(args[i + 1], CultureInfo.InvariantCulture); break;
                case "--dir": dir = args[i + 1]; break;
                default: throw new ArgumentException("unknown option " + args[i]);
            }
        }

        dir ??= Path.Combine(Path.GetTempPath(), "parley-member-storage-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        var path = Path.Combine(dir, "parley.db");
        const string Prefix = "lt0000r1s-";
        const string GroupId = "lt0000r1ss";
        const string Conversation = "sg_" + GroupId;
        const string Operator = "admin-operator";
        var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        var clock = Stopwatch.StartNew();
        var database = new SqliteDatabase(new SqliteStoreOptions { DataSource = path, Durable = true });
        await using (database.ConfigureAwait(false))
        {
            var store = new SqliteMessageStore(database);
            await using (store.ConfigureAwait(false))
            {
                await store.InitializeAsync().ConfigureAwait(false);
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
        }

        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"member-storage: total {clock.Elapsed.TotalSeconds:F1} s; database {path}"));
        return 0;
    }
}
