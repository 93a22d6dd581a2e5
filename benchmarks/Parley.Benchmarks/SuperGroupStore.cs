using System.Diagnostics;
using System.Globalization;
using Google.Protobuf;
using Npgsql;
using Parley.Abstractions.Accounts;
using Parley.Abstractions.Messaging;
using Parley.Protocol.V1;
using Parley.Storage.Postgres;
using Parley.Storage.Sqlite;
using ConversationKind = Parley.Abstractions.Messaging.ConversationKind;
using GroupKind = Parley.Abstractions.Messaging.GroupKind;

namespace Parley.Benchmarks;

/// <summary>
/// <c>super-store</c> (issue 12): a SQLite data directory the server opens, holding one read-diffusion group of N members
/// built straight through the store's own APIs, so a 1,000,000-member channel with 2,000 online can be measured without
/// creating a million accounts through the admin API (20–26 minutes on the shared machine). What it writes, in the
/// order and shape the server's own paths write it:
/// <list type="bullet">
/// <item>An account per member (<see cref="SqliteAccountStore.CreateUserAsync"/>, the admin API's call, with its
/// defaults: nickname <c>lt {i}</c>, no avatar, <c>ex</c> <c>{}</c>): the product requires one, since the bulk job and
/// the group's creation refuse users that do not exist. Many in flight, so the store's writer commits them 256 at a
/// time.</item>
/// <item>The group's creation as <c>ConversationGrain.CreateGroupAsync</c> commits it for the admin API's
/// <c>POST /admin/v1/groups</c> with <c>kind</c> <c>channel</c> (or <c>super</c>): the conversation, the group record
/// (the API's defaults: join policy free, history not visible to newcomers), the owner's member row and the
/// <c>GroupCreated</c> notice at seq 1, one commit. The record carries join/leave notices as events
/// (<see cref="MemberNoticeMode.Events"/>: what <c>PUT /admin/v1/groups/{id}/member-notices</c> sets; a
/// million-member channel must not write a notice per chunk into its history).</item>
/// <item>The members as the bulk job's chunks commit them in that mode (<c>ConversationGrain.BulkMembersAsync</c> →
/// <c>Admit</c>, membership-only commit): chunks of 1,000, one commit each, a Member invited by the operator (the
/// group's owner, as <c>SuperGroupJobs</c> runs it), visible from the next seq (2), everything before counted as
/// read.</item>
/// </list>
/// Users are <c>{prefix}{i}</c> for i in [0, N): user 0 is the owner (the only one who may post in a channel), so the
/// load generator's <c>supergroup</c> scenario with <c>--super-existing</c> uses it as its sender. The directory gets a
/// <c>prepared.env</c> naming the group, the prefix and the size for the scripts. <c>--import none</c> writes the accounts
/// and the group with its owner only, for an import through the admin API's bulk job on a running server (the same
/// layout through the product's whole path: super-store.sh with <c>IMPORT=api</c>). Before exiting, the tool reads the
/// group back through the store API (member count, the owner's and the last member's rows, the last account) and fails
/// if anything is not as written.
/// With <c>--postgres CONNECTION --schema S</c> the same commits go to a new PostgreSQL schema instead (the server opens it
/// with <c>Parley__Storage__Provider=Postgres</c> and <c>Parley__Storage__Postgres__Schema=S</c>); the import is then the
/// PostgreSQL store's own, which writes a chunk's new members straight into the group's packed pages (ADR 0021, stop 34),
/// and the tool prints the bytes per member of the member tables and indexes after the import and a VACUUM (member-storage's figures: main forks, each relation on its line). <c>--dir</c> then holds only
/// <c>prepared.env</c> (with <c>SCHEMA=S</c>).
/// </summary>
public static class SuperGroupStore
{
    public static async Task<int> RunAsync(string[] args)
    {
        var members = 1_000_000;
        var chunk = 1_000;
        string? dir = null;
        var prefix = "lt-ch-";
        var groupId = "channel1m";
        var kind = GroupKind.Channel;
        var import = true;
        string? postgres = null;
        string? schema = null;
        for (var i = 0; i < args.Length; i++)
        {
            if (i + 1 >= args.Length)
            {
                throw new ArgumentException("option " + args[i] + " needs a value");
            }

            switch (args[i])
            {
                case "--members": members = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
                case "--chunk": chunk = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
                case "--dir": dir = args[++i]; break;
                case "--prefix": prefix = args[++i]; break;
                case "--group": groupId = args[++i]; break;
                case "--kind":
                    kind = args[++i] switch
                    {
                        "channel" => GroupKind.Channel,
                        "super" => GroupKind.Super,
                        var k => throw new ArgumentException("--kind is channel or super, not " + k),
                    };
                    break;
                case "--import":
                    import = args[++i] switch
                    {
                        "store" => true,
                        "none" => false,
                        var m => throw new ArgumentException("--import is store or none, not " + m),
                    };
                    break;
                case "--postgres": postgres = args[++i]; break;
                case "--schema": schema = args[++i]; break;
                default: throw new ArgumentException("unknown option " + args[i]);
            }
        }

        if (dir is null)
        {
            throw new ArgumentException("give --dir D: the data directory to create (Parley__Storage__DataDirectory=D then opens it)");
        }

        if (members is < 2 or > 1_000_000 || chunk is < 1 or > 1_000)
        {
            throw new ArgumentException("--members within 2..1,000,000 (MaxSuperGroupMembers), --chunk within 1..1,000 (the bulk job's chunk)");
        }

        if ((postgres is null) != (schema is null))
        {
            throw new ArgumentException("--postgres and --schema go together: the connection and the new schema the server will open");
        }

        var plan = new Plan(prefix, groupId, "sg_" + groupId, kind, members, chunk, DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());
        var total = Stopwatch.StartNew();
        string where;
        if (postgres is not null)
        {
            await CreateSchemaAsync(postgres, schema!).ConfigureAwait(false);
            Directory.CreateDirectory(dir);
            var database = new PostgresDatabase(new PostgresStoreOptions { ConnectionString = postgres, Schema = schema!, Durable = true });
            await using (database.ConfigureAwait(false))
            {
                var store = new PostgresMessageStore(database);
                var accounts = new PostgresAccountStore(database);
                await store.InitializeAsync().ConfigureAwait(false);
                await accounts.InitializeAsync().ConfigureAwait(false);
                await BuildAsync(store, accounts, plan, import).ConfigureAwait(false);
                await MemberStorage.PrintPostgresSizesAsync(database, schema!, import ? plan.Members : 1, "after VACUUM").ConfigureAwait(false);
            }

            where = "PostgreSQL schema " + schema;
        }
        else
        {
            var path = Path.Combine(dir, "parley.db");
            if (File.Exists(path))
            {
                throw new ArgumentException($"{path} exists: give a new directory");
            }

            Directory.CreateDirectory(dir);
            var database = new SqliteDatabase(new SqliteStoreOptions { DataSource = path, Durable = true });
            await using (database.ConfigureAwait(false))
            {
                var store = new SqliteMessageStore(database);
                await using (store.ConfigureAwait(false))
                {
                    await store.InitializeAsync().ConfigureAwait(false);
                    await BuildAsync(store, new SqliteAccountStore(database), plan, import).ConfigureAwait(false);
                }
            }

            where = "database " + path;
        }

        await File.WriteAllTextAsync(
            Path.Combine(dir, "prepared.env"),
            string.Create(CultureInfo.InvariantCulture, $"GROUP={groupId}\nPREFIX={prefix}\nMEMBERS={members}\nKIND={kind.ToString().ToLowerInvariant()}\n{(schema is null ? string.Empty : "SCHEMA=" + schema + "\n")}")).ConfigureAwait(false);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"super-store: total {total.Elapsed.TotalSeconds:F1} s; {where}; group {groupId} (sg_{groupId}), users {prefix}0..{prefix}{members - 1}, owner {prefix}0"));
        return 0;
    }

    /// <summary>Accounts, the group with its owner, the members (unless <c>--import none</c>), then the read-back.</summary>
    private static async Task BuildAsync<TStore>(TStore store, IAccountStore accounts, Plan plan, bool import)
        where TStore : IMessageStore, IGroupStore, ISuperGroupStore
    {
        await CreateAccountsAsync(accounts, plan).ConfigureAwait(false);
        await CreateGroupAsync(store, plan).ConfigureAwait(false);
        if (import)
        {
            await ImportAsync(store, plan).ConfigureAwait(false);
        }

        await VerifyAsync(store, accounts, plan, import ? plan.Members : 1).ConfigureAwait(false);
    }

    /// <summary>A new, empty schema: an existing one is refused (the tool never writes over a store).</summary>
    private static async Task CreateSchemaAsync(string connectionString, string schema)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync().ConfigureAwait(false);
        await using var create = new NpgsqlCommand($"CREATE SCHEMA \"{schema.Replace("\"", "\"\"", StringComparison.Ordinal)}\"", connection);
        try
        {
            await create.ExecuteNonQueryAsync().ConfigureAwait(false);
        }
        catch (PostgresException ex) when (ex.SqlState == PostgresErrorCodes.DuplicateSchema)
        {
            throw new ArgumentException($"schema {schema} exists: give a new one", ex);
        }
    }

    private sealed record Plan(string Prefix, string GroupId, string Conversation, GroupKind Kind, int Members, int Chunk, long Now)
    {
        public string Owner => Prefix + "0";

        public string User(int i) => Prefix + i.ToString(CultureInfo.InvariantCulture);
    }

    /// <summary>One account per member through the store's own call, 8,192 in flight (the writer commits them 256 to a transaction).</summary>
    private static async Task CreateAccountsAsync(IAccountStore accounts, Plan plan)
    {
        const int InFlight = 8_192;
        var clock = Stopwatch.StartNew();
        var created = 0;
        var window = new List<Task<bool>>(InFlight);
        for (var i = 0; i < plan.Members; i++)
        {
            window.Add(accounts.CreateUserAsync(new UserRecord(plan.User(i), "lt " + i.ToString(CultureInfo.InvariantCulture), string.Empty, "{}", plan.Now, plan.Now)));
            if (window.Count == InFlight || i == plan.Members - 1)
            {
                created += (await Task.WhenAll(window).ConfigureAwait(false)).Count(c => c);
                window.Clear();
            }
        }

        if (created != plan.Members)
        {
            throw new InvalidOperationException($"created {created} of {plan.Members} accounts (some existed)");
        }

        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"super-store: {created} accounts in {clock.Elapsed.TotalSeconds:F1} s = {created / Math.Max(clock.Elapsed.TotalSeconds, 1e-3):F0}/s (IAccountStore.CreateUserAsync, store only)"));
    }

    /// <summary>The commit of <c>ConversationGrain.CreateGroupAsync</c> for the admin API's create request (version 1).</summary>
    private static async Task CreateGroupAsync(IMessageStore store, Plan plan)
    {
        const long Version = 1;
        const string Name = "bench channel";
        var content = new Content
        {
            GroupCreated = new GroupCreatedContent { GroupId = plan.GroupId, Name = Name, CreatorId = plan.Owner, MemberIds = { plan.Owner } },
        };
        var batch = new CommitBatch();
        batch.Conversations.Add(new NewConversation(plan.Conversation, ConversationKind.Group, plan.GroupId, Name, plan.Owner, plan.Now, [plan.Owner], Version));
        batch.Messages.Add(new StoredMessage(
            plan.Conversation, 1, Guid.CreateVersion7().ToString("N"), plan.Owner, "group-created", plan.Now, (int)Content.BodyOneofCase.GroupCreated, content.ToByteArray(), false, Version));
        batch.ReadDiffusion.Add(plan.Conversation);
        batch.Groups.Add(new GroupRecord(plan.GroupId, plan.Conversation, Name, string.Empty, string.Empty, string.Empty, "{}", plan.Owner, GroupJoinPolicy.Free, false, false, true, false, plan.Now, plan.Now, 1, Version)
        {
            Kind = plan.Kind,
            MemberNotices = MemberNoticeMode.Events,
        });
        batch.MemberChanges.Add(new MemberChange(plan.Conversation, plan.Owner, MemberRole.Owner, string.Empty, 0, plan.Now, string.Empty, true, 1, 0, Version));
        await store.CommitAsync(batch).ConfigureAwait(false);
    }

    /// <summary>
    /// The bulk job's chunks as membership-only commits (notices as events): <c>Admit</c> at the next seq (2, after the
    /// creation notice), so visible from 2 (the group hides history from newcomers) and read up to 1. The job runs them
    /// one after the other, each one commit.
    /// </summary>
    private static async Task ImportAsync(IMessageStore store, Plan plan)
    {
        const long NextSeq = 2;
        var version = 1L;
        var clock = Stopwatch.StartNew();
        // The job cuts its chunks from its ids sorted (ordinal: SuperGroupJobs.SubmitAsync since stop 35), so on PostgreSQL
        // each chunk spans the group's last pages and goes straight into them.
        var ids = Enumerable.Range(1, plan.Members - 1).Select(plan.User).Order(StringComparer.Ordinal).ToArray();
        foreach (var chunk in ids.Chunk(plan.Chunk))
        {
            version++;
            var batch = new CommitBatch();
            foreach (var user in chunk)
            {
                batch.MemberChanges.Add(new MemberChange(plan.Conversation, user, MemberRole.Member, string.Empty, 0, plan.Now, plan.Owner, true, NextSeq, 0, version)
                {
                    ReadSeqFloor = NextSeq - 1,
                });
            }

            await store.CommitAsync(batch).ConfigureAwait(false);
        }

        Console.WriteLine(string.Create(
            CultureInfo.InvariantCulture,
            $"super-store: {plan.Members - 1} members imported in chunks of {plan.Chunk} in {clock.Elapsed.TotalSeconds:F1} s = {(plan.Members - 1) / Math.Max(clock.Elapsed.TotalSeconds, 1e-3):F0}/s (store only: CommitAsync, no grain or API)"));
    }

    /// <summary>Reads the group back through the store API: anything not as written fails the tool.</summary>
    private static async Task VerifyAsync<TStore>(TStore store, IAccountStore accounts, Plan plan, int expected)
        where TStore : IMessageStore, IGroupStore, ISuperGroupStore
    {
        var group = await store.GetGroupAsync(plan.GroupId).ConfigureAwait(false)
            ?? throw new InvalidOperationException("the group is not in the store");
        var last = plan.User(plan.Members - 1);
        var rows = await store.GetMembersByIdsAsync(plan.Conversation, [plan.Owner, last]).ConfigureAwait(false);
        var owner = rows.SingleOrDefault(r => r.Member.UserId == plan.Owner)?.Member;
        var lastRow = rows.SingleOrDefault(r => r.Member.UserId == last)?.Member;
        var admins = await store.SearchMembersAsync(plan.Conversation, new MemberQuery(string.Empty, MemberRole.Admin, string.Empty, 10)).ConfigureAwait(false);
        var problems = new List<string>();
        if (group.MemberCount != expected)
        {
            problems.Add($"member count {group.MemberCount}, expected {expected}");
        }

        if (group.Kind != plan.Kind || group.MemberNotices != MemberNoticeMode.Events || group.OwnerId != plan.Owner)
        {
            problems.Add($"group record {group.Kind}/{group.MemberNotices}/{group.OwnerId}");
        }

        if (owner is not { Role: MemberRole.Owner, Active: true })
        {
            problems.Add("the owner's row is missing or not the active owner");
        }

        if (expected == 1 && lastRow is not null)
        {
            problems.Add($"{last} is a member, but nothing was imported");
        }
        else if (expected > 1 && (lastRow is null || lastRow.Role != MemberRole.Member || !lastRow.Active || lastRow.InviterId != plan.Owner || lastRow.VisibleFrom != 2 || lastRow.ReadSeq != 1))
        {
            problems.Add($"the last member's row ({last}) is missing or not an active member invited by the owner, visible from 2, read up to 1");
        }

        if (admins.Members.Count != 1 || admins.Members[0].UserId != plan.Owner)
        {
            problems.Add($"owner and admins: {admins.Members.Count} (expected the owner alone)");
        }

        if (await accounts.GetUserAsync(last).ConfigureAwait(false) is null)
        {
            problems.Add($"no account for {last}");
        }

        if (problems.Count > 0)
        {
            throw new InvalidOperationException("the prepared store is not as written: " + string.Join("; ", problems));
        }

        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"super-store: read back: {group.Kind} {plan.GroupId}, {group.MemberCount} members, notices {group.MemberNotices}, owner {group.OwnerId}; {(expected > 1 ? last + " active, invited by the owner, visible from 2, read up to 1" : "no member imported (--import none)")}; account of {last} present"));
    }
}
