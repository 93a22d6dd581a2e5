using Parley.Abstractions.Messaging;

namespace Parley.Storage.Compliance;

/// <summary>Bulk membership jobs of super groups (ADR 0017): a durable queue of chunked jobs with leases.</summary>
public abstract partial class MessageStoreComplianceTests
{
    [StoreFact]
    public async Task BulkMemberJobs_StoredWithTheirChunks_LeasedAdvancedChunkByChunk_ASecondStoreResumesAtTheFirstChunkNotDone()
    {
        var jobs = Assert.IsAssignableFrom<IBulkMemberJobStore>(Store);
        var chunks = new[]
        {
            new BulkMemberChunk(0, false, ["u-0001", "u-0002", "u-0003"]),
            new BulkMemberChunk(1, false, ["u-0004", "u-0005"]),
            new BulkMemberChunk(2, true, ["u-0009"]),
        };
        await jobs.AddBulkJobAsync(new BulkMemberJob("job-a", "g1", BulkMemberJobState.Running, 6, 3, 0, 0, 0, null, 1000, 0), chunks);
        await jobs.AddBulkJobAsync(new BulkMemberJob("job-b", "g2", BulkMemberJobState.Running, 1, 1, 0, 0, 0, null, 1001, 0), [new BulkMemberChunk(0, false, ["u-0100"])]);

        var stored = await jobs.GetBulkJobAsync("job-a");
        Assert.Equal(new BulkMemberJob("job-a", "g1", BulkMemberJobState.Running, 6, 3, 0, 0, 0, null, 1000, 0), stored);
        Assert.Null(await jobs.GetBulkJobAsync("no-such-job"));
        var second = await jobs.GetBulkJobChunkAsync("job-a", 2);
        Assert.Equal((2, true, "u-0009"), (second!.Index, second.Remove, string.Join(",", second.UserIds)));
        Assert.Null(await jobs.GetBulkJobChunkAsync("job-a", 3));

        // The oldest job first; a leased job is nobody else's.
        var a = await jobs.ClaimBulkJobAsync("n1", 2000, 5000);
        Assert.Equal("job-a", a?.JobId);
        var b = await jobs.ClaimBulkJobAsync("n2", 2000, 20_000);
        Assert.Equal("job-b", b?.JobId);
        Assert.Null(await jobs.ClaimBulkJobAsync("n3", 4999, 9000));

        // A finished chunk: progress recorded, its ids dropped; another owner cannot record progress.
        Assert.True(await jobs.AdvanceBulkJobAsync("job-a", "n1", 1, 3, 3, 6000));
        Assert.False(await jobs.AdvanceBulkJobAsync("job-a", "n2", 2, 5, 5, 6000));
        Assert.Null(await jobs.GetBulkJobChunkAsync("job-a", 0));
        Assert.Equal(["u-0004", "u-0005"], (await jobs.GetBulkJobChunkAsync("job-a", 1))!.UserIds);

        // A restart (a second store over the same storage): once the lease ran out, the job resumes at its first chunk not done.
        var other = CreateStore();
        await other.InitializeAsync();
        try
        {
            var resumedJobs = Assert.IsAssignableFrom<IBulkMemberJobStore>(other);
            Assert.Null(await resumedJobs.ClaimBulkJobAsync("n3", 5999, 9000));
            var resumed = await resumedJobs.ClaimBulkJobAsync("n3", 6001, 9000);
            Assert.Equal(("job-a", 1, 3, 3, 3), (resumed!.JobId, resumed.NextChunk, resumed.Processed, resumed.Changed, resumed.Chunks));
            Assert.False(await jobs.AdvanceBulkJobAsync("job-a", "n1", 2, 5, 5, 9000));
            Assert.True(await resumedJobs.AdvanceBulkJobAsync("job-a", "n3", 3, 6, 5, 9000));
            Assert.False(await jobs.FinishBulkJobAsync("job-a", "n1", BulkMemberJobState.Completed, null, 7000));
            Assert.True(await resumedJobs.FinishBulkJobAsync("job-a", "n3", BulkMemberJobState.Completed, null, 7000));
        }
        finally
        {
            if (other is IAsyncDisposable disposable)
            {
                await disposable.DisposeAsync();
            }
        }

        Assert.Equal(new BulkMemberJob("job-a", "g1", BulkMemberJobState.Completed, 6, 3, 3, 6, 5, null, 1000, 7000), await jobs.GetBulkJobAsync("job-a"));
        Assert.Null(await jobs.GetBulkJobChunkAsync("job-a", 1));
        Assert.Null(await jobs.ClaimBulkJobAsync("n4", 4000, 12_000)); // job-a ended; job-b is n2's until 20,000

        // A shutdown gives the owner's running jobs up at once, with their progress; a failure keeps its reason.
        await jobs.ReleaseBulkJobsAsync("n2");
        var taken = await jobs.ClaimBulkJobAsync("n4", 4000, 12_000);
        Assert.Equal(("job-b", 0), (taken!.JobId, taken.NextChunk));
        Assert.True(await jobs.FinishBulkJobAsync("job-b", "n4", BulkMemberJobState.Failed, "No such user.", 8000));
        Assert.Equal((BulkMemberJobState.Failed, "No such user."), ((await jobs.GetBulkJobAsync("job-b"))!.State, (await jobs.GetBulkJobAsync("job-b"))!.Error));
        Assert.Null(await jobs.GetBulkJobChunkAsync("job-b", 0));

        // Ended jobs are swept after their keep time; running ones never.
        await jobs.AddBulkJobAsync(new BulkMemberJob("job-c", "g3", BulkMemberJobState.Running, 1, 1, 0, 0, 0, null, 1002, 0), [new BulkMemberChunk(0, false, ["u-0200"])]);
        Assert.Equal(1, await jobs.DeleteFinishedBulkJobsAsync(7500));
        Assert.Null(await jobs.GetBulkJobAsync("job-a"));
        Assert.NotNull(await jobs.GetBulkJobAsync("job-b"));
        Assert.Equal(1, await jobs.DeleteFinishedBulkJobsAsync(1_000_000));
        Assert.Equal(BulkMemberJobState.Running, (await jobs.GetBulkJobAsync("job-c"))!.State);
    }
}
