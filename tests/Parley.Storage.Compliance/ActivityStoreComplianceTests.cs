using Parley.Abstractions.Statistics;

namespace Parley.Storage.Compliance;

/// <summary>The daily activity counts every <see cref="IActivityStore"/> provider must keep (SQLite and PostgreSQL).</summary>
public abstract class ActivityStoreComplianceTests : MessageSchemaStoreComplianceTests<IActivityStore>
{
    [StoreFact]
    public async Task Added_CountsSumUp_PerSubjectAndDay_InTheRange_PagedByCount()
    {
        await Store.AddAsync(
        [
            new(100, ActivityKind.DirectSender, "alice", 3),
            new(100, ActivityKind.DirectSender, "bob", 1),
            new(101, ActivityKind.DirectSender, "bob", 5),
            new(101, ActivityKind.GroupSender, "alice", 7),
            new(101, ActivityKind.Group, "g1", 7),
            new(102, ActivityKind.DirectSender, "carol", 2),
            new(99, ActivityKind.DirectSender, "dave", 9),
        ]);
        await Store.AddAsync([new(100, ActivityKind.DirectSender, "alice", 2)]); // adds to the row

        var direct = await Store.QueryAsync(100, 102, [ActivityKind.DirectSender], ascending: false, offset: 0, limit: 10);
        Assert.Equal(11, direct.Messages);
        Assert.Equal(2, direct.Subjects);
        Assert.Equal([("bob", 6L), ("alice", 5L)], direct.Page.Select(p => (p.SubjectId, p.Count)));
        Assert.Equal(new Dictionary<int, long> { [100] = 6, [101] = 5 }, direct.PerDay);

        var both = await Store.QueryAsync(100, 103, [ActivityKind.DirectSender, ActivityKind.GroupSender], ascending: true, offset: 1, limit: 2);
        Assert.Equal(20, both.Messages);
        Assert.Equal(3, both.Subjects);
        Assert.Equal([("bob", 6L), ("alice", 12L)], both.Page.Select(p => (p.SubjectId, p.Count)));

        var groups = await Store.QueryAsync(0, 1000, [ActivityKind.Group], ascending: false, offset: 0, limit: 10);
        Assert.Equal(("g1", 7L), (groups.Page.Single().SubjectId, groups.Page.Single().Count));
        var empty = await Store.QueryAsync(200, 300, [ActivityKind.Group], ascending: false, offset: 0, limit: 10);
        Assert.Equal((0L, 0L), (empty.Messages, empty.Subjects));
        Assert.Empty(empty.Page);
        Assert.Empty(empty.PerDay);
    }

    [StoreFact]
    public async Task ConcurrentAdds_ToTheSameRows_LoseNothing()
    {
        await Task.WhenAll(Enumerable.Range(0, 8).Select(i => Store.AddAsync([new(5, ActivityKind.DirectSender, "hot", 1), new(5, ActivityKind.Group, "g", i)])));
        var direct = await Store.QueryAsync(5, 6, [ActivityKind.DirectSender], false, 0, 10);
        Assert.Equal(8, direct.Messages);
        var groups = await Store.QueryAsync(5, 6, [ActivityKind.Group], false, 0, 10);
        Assert.Equal(28, groups.Messages);
    }
}
