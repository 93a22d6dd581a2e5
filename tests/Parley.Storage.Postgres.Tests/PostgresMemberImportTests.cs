using System.Globalization;
using System.Text.Json;
using Parley.Abstractions.Messaging;
using Parley.Storage.Compliance;

namespace Parley.Storage.Postgres.Tests;

/// <summary>
/// An import writes a super group's new members straight into its packed pages (ADR 0021, amendment of stop 34,
/// migration 28): no row, so the row table's B-trees get no entry. The same commits against a store that writes rows
/// (<see cref="PostgresStoreOptions.MemberImportPages"/> 0, the layout before) read back the same through the store API
/// (members, counts, a member's sync, memberships). A commit of the group in flight, or a span over the page bound,
/// sends the members to rows instead.
/// </summary>
public sealed class PostgresMemberImportTests : IAsyncLifetime
{
    private readonly TestPostgres _pages = new();
    private readonly TestPostgres _rows = new();
    private PostgresMessageStore _paged = null!;
    private PostgresMessageStore _rowed = null!;
    private long _version;

    public async Task InitializeAsync()
    {
        _paged = new PostgresMessageStore(_pages.Open(configure: o => o.MemberImportPages = 4));
        _rowed = new PostgresMessageStore(_rows.Open(configure: o => o.MemberImportPages = 0));
        await _paged.InitializeAsync();
        await _rowed.InitializeAsync();
    }

    public async Task DisposeAsync()
    {
        await _pages.DisposeAsync();
        await _rows.DisposeAsync();
    }

    private long Next() => ++_version;

    // The same batch to both stores.
    private async Task CommitAsync(Action<CommitBatch> fill)
    {
        foreach (var store in new[] { _paged, _rowed })
        {
            var batch = new CommitBatch();
            fill(batch);
            await store.CommitAsync(batch);
        }
    }

    private static string User(int i) => "u" + i.ToString("D5", CultureInfo.InvariantCulture);

    private static MemberChange Joined(string conversationId, string userId, long version, MemberRole role = MemberRole.Member, long visibleFrom = 1) =>
        new(conversationId, userId, role, userId.EndsWith('7') ? "nick-" + userId : "", userId.Length * 3, 1000 + userId[^1], "op-" + userId[^2..], true, visibleFrom, 0, version)
        {
            ReadSeqFloor = visibleFrom - 1,
        };

    private async Task CreateAsync(string id)
    {
        var version = Next();
        await CommitAsync(b =>
        {
            b.Conversations.Add(new NewConversation(id, ConversationKind.Group, "g-" + id, "Super " + id, "owner", 1000, ["owner"], version));
            b.Groups.Add(new GroupRecord("g-" + id, id, "Super " + id, "", "", "", "{}", "owner", GroupJoinPolicy.Free, false, false, true, false, 1000, 1000, 1, version)
            {
                Kind = GroupKind.Super,
            });
            b.MemberChanges.Add(Joined(id, "owner", version, MemberRole.Owner));
        });
    }

    private async Task ImportAsync(string id, IEnumerable<int> users, long visibleFrom = 1)
    {
        var v = Next();
        var list = users.ToList();
        await CommitAsync(b => b.MemberChanges.AddRange(list.Select(i => Joined(id, User(i), v, visibleFrom: visibleFrom))));
    }

    private static async Task<long> CountAsync(TestPostgres postgres, string sql) =>
        Convert.ToInt64(await postgres.ScalarAsync(sql), CultureInfo.InvariantCulture);

    private static Task<long> RowsAsync(TestPostgres postgres, string conversationId) =>
        CountAsync(postgres, $"SELECT COUNT(*) FROM members m JOIN conversation_keys k USING (conv_key) WHERE k.conversation_id = '{conversationId}'");

    private static Task<long> SlotsAsync(TestPostgres postgres, string conversationId) =>
        CountAsync(postgres, $"SELECT COALESCE(SUM(cardinality(p.user_ids)), 0) FROM member_pages p JOIN conversation_keys k USING (conv_key) WHERE k.conversation_id = '{conversationId}'");

    private static Task<long> MemberCountAsync(TestPostgres postgres, string conversationId) =>
        CountAsync(postgres, $"SELECT member_count FROM conversations WHERE conversation_id = '{conversationId}'");

    // What the store API tells of the group and of some of its members, as text, for comparing the two stores.
    private static async Task<string> ReadBackAsync(PostgresMessageStore store, string id, IEnumerable<string> users)
    {
        var parts = new List<object?>
        {
            (await store.GetMembersAsync(id)).OrderBy(m => m.UserId, StringComparer.Ordinal).ToList(),
        };
        foreach (var user in users)
        {
            parts.Add((await store.GetChangesAsync(user, 0, 10)).Changes.Select(c => c.Conversation).ToList());
            parts.Add(await store.GetSuperGroupMembershipsAsync(user));
        }

        return JsonSerializer.Serialize(parts);
    }

    [StoreFact]
    public async Task Import_OfChunks_WritesPagesNotRows_AndReadsBackAsTheRowStore_MembersCountsSyncAndMemberships()
    {
        await CreateAsync("imp");
        // Chunks of consecutive ids (a sorted import), the last one spread between the first ones' ids (u0xxx5).
        await ImportAsync("imp", Enumerable.Range(1, 500).Select(i => i * 10));
        await ImportAsync("imp", Enumerable.Range(501, 500).Select(i => i * 10));
        await ImportAsync("imp", Enumerable.Range(0, 30).Select(i => (i * 10) + 5), visibleFrom: 4);

        Assert.Equal(1L, await RowsAsync(_pages, "imp")); // the owner's, from the group's creation
        Assert.Equal(1030L, await SlotsAsync(_pages, "imp"));
        Assert.Equal(1031L, await RowsAsync(_rows, "imp"));
        Assert.Equal(0L, await CountAsync(_pages, "SELECT COUNT(*) FROM member_pages WHERE cardinality(user_ids) > 128"));
        var sample = new[] { "owner", User(10), User(5000), User(10_000), User(15), User(295) };
        Assert.Equal(await ReadBackAsync(_rowed, "imp", sample), await ReadBackAsync(_paged, "imp", sample));
        Assert.Equal(1031L, await MemberCountAsync(_pages, "imp"));
        Assert.Equal(1031L, await MemberCountAsync(_rows, "imp"));
        Assert.True(await CountAsync(_pages, "SELECT compacted_version FROM groups WHERE group_id = 'g-imp'") >= 4);

        // Changes of imported members after the import: a removal, a role change and a read cursor (copy on write: rows),
        // and a chunk of new and existing members together (the new ones to pages, the existing ones' rows updated).
        var v = Next();
        await CommitAsync(b =>
        {
            b.MemberChanges.Add(new MemberChange("imp", User(20), MemberRole.Member, "", 0, 1000, "op", false, 1, 6, v));
            b.MemberChanges.Add(Joined("imp", User(30), v, MemberRole.Admin));
        });
        v = Next();
        await CommitAsync(b => b.ReadCursors.Add(new ReadCursorUpdate("imp", User(40), 3, v)));
        await ImportAsync("imp", new[] { 20, 50, 10_001, 10_002 });
        Assert.Equal(5L, await RowsAsync(_pages, "imp")); // owner, u00020 (removed, then back), u00030, u00040, u00050 (copied on write)
        Assert.Equal(1032L, await SlotsAsync(_pages, "imp")); // u10001 and u10002 into pages
        sample = [User(20), User(30), User(40), User(50), User(10_001)];
        Assert.Equal(await ReadBackAsync(_rowed, "imp", sample), await ReadBackAsync(_paged, "imp", sample));

        // After a compaction of both, still the same.
        await _paged.CompactSuperGroupAsync("imp");
        await _rowed.CompactSuperGroupAsync("imp");
        Assert.Equal(await ReadBackAsync(_rowed, "imp", sample), await ReadBackAsync(_paged, "imp", sample));
    }

    [StoreFact]
    public async Task Import_WhileAnotherCommitOfTheGroupHoldsItsLock_OrOverThePageBound_GoesToRows_AndLosesNothing()
    {
        await CreateAsync("busy");
        await ImportAsync("busy", Enumerable.Range(1, 1000).Select(i => i * 2)); // 8 pages (7 of 128, one of 104)
        Assert.Equal(1000L, await SlotsAsync(_pages, "busy"));

        // A commit of the group in flight holds the group's lock shared (as member_unpack does): the next chunk goes to rows.
        var key = await CountAsync(_pages, "SELECT conv_key FROM conversation_keys WHERE conversation_id = 'busy'");
        await using (var holder = new Npgsql.NpgsqlConnection(new Npgsql.NpgsqlConnectionStringBuilder(_pages.ConnectionString) { Pooling = false }.ConnectionString))
        {
            await holder.OpenAsync();
            await using (var hold = new Npgsql.NpgsqlCommand($"SELECT pg_advisory_lock_shared(hashtext('member_pages {_pages.Schema}'), ({key} % 2147483647)::integer);", holder))
            {
                await hold.ExecuteNonQueryAsync();
            }

            await ImportAsync("busy", [1, 3]);
        }

        Assert.Equal(3L, await RowsAsync(_pages, "busy"));

        // Ids spread over all 8 pages: over the bound of 4 pages, rows; ids within one page's span: pages.
        await ImportAsync("busy", [5, 1999]);
        Assert.Equal(5L, await RowsAsync(_pages, "busy"));
        await ImportAsync("busy", [7, 9]);
        Assert.Equal(5L, await RowsAsync(_pages, "busy"));
        Assert.Equal(1002L, await SlotsAsync(_pages, "busy"));

        var sample = new[] { User(1), User(5), User(7), User(1999), User(2000) };
        Assert.Equal(await ReadBackAsync(_rowed, "busy", sample), await ReadBackAsync(_paged, "busy", sample));
        Assert.Equal(1007L, await MemberCountAsync(_pages, "busy"));
        Assert.Equal(1007L, await MemberCountAsync(_rows, "busy"));
    }
}
