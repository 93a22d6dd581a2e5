using Parley.Abstractions.Messaging;

namespace Parley.Storage.Compliance;

/// <summary>Super-group push jobs (ADR 0017, docs/push.md §8): a durable queue with leases and a member cursor.</summary>
public abstract partial class MessageStoreComplianceTests
{
    [StoreFact]
    public async Task SuperGroupPushJobs_LeasedAndAdvancedPageByPage_ASecondStoreResumesAfterTheLastFinishedPage()
    {
        var jobs = Assert.IsAssignableFrom<ISuperGroupPushJobStore>(Store);
        await jobs.AddMentionAllAsync("sg_a", 7, "A", 1000);
        await jobs.AddDigestsAsync([new SuperGroupDigestMark("sg_a", 5, "A"), new SuperGroupDigestMark("sg_b", 3, "B")], 1000);
        await jobs.AddDigestsAsync([new SuperGroupDigestMark("sg_a", 9, "A renamed")], 1100);
        await jobs.AddDigestsAsync([new SuperGroupDigestMark("sg_a", 6, "A renamed")], 1200);

        // One digest job per group, at its newest round; a leased job is nobody else's.
        var digests = await jobs.ClaimAsync(SuperGroupPushJobKind.Digest, "n1", 2000, 5000, 10);
        Assert.Equal(["sg_a:9:A renamed", "sg_b:3:B"], digests.Select(j => $"{j.ConversationId}:{j.Seq}:{j.Name}"));
        Assert.Empty(await jobs.ClaimAsync(SuperGroupPushJobKind.Digest, "n2", 3000, 6000, 10));
        var all = Assert.Single(await jobs.ClaimAsync(SuperGroupPushJobKind.MentionAll, "n1", 2000, 5000, 10));
        Assert.Equal(("sg_a", 7L, "A", ""), (all.ConversationId, all.Seq, all.Name, all.After));
        Assert.True(await jobs.AdvanceAsync(all.JobId, "n1", "user-0500", 5000));
        Assert.False(await jobs.AdvanceAsync(all.JobId, "n2", "user-0999", 5000));

        // A restart (a second store over the same storage): once the lease ran out, the job resumes after the last page.
        var second = CreateStore();
        await second.InitializeAsync();
        try
        {
            var resumedJobs = Assert.IsAssignableFrom<ISuperGroupPushJobStore>(second);
            Assert.Empty(await resumedJobs.ClaimAsync(SuperGroupPushJobKind.MentionAll, "n2", 4999, 9000, 10));
            var resumed = Assert.Single(await resumedJobs.ClaimAsync(SuperGroupPushJobKind.MentionAll, "n2", 5001, 9000, 10));
            Assert.Equal((all.JobId, "user-0500", 7L), (resumed.JobId, resumed.After, resumed.Seq));
            Assert.False(await jobs.AdvanceAsync(all.JobId, "n1", "user-0600", 9000));
            await resumedJobs.CompleteAsync(resumed.JobId, "n2", resumed.Seq);
            Assert.Empty(await resumedJobs.ClaimAsync(SuperGroupPushJobKind.MentionAll, "n3", 99_999, 100_000, 10));
        }
        finally
        {
            if (second is IAsyncDisposable disposable)
            {
                await disposable.DisposeAsync();
            }
        }

        // A digest raised to a newer round while it ran starts again from the first member; one done at its seq is gone.
        var a = digests[0];
        var b = digests[1];
        Assert.True(await jobs.AdvanceAsync(a.JobId, "n1", "user-0500", 5000));
        await jobs.AddDigestsAsync([new SuperGroupDigestMark("sg_a", 12, "A renamed")], 2500);
        await jobs.CompleteAsync(a.JobId, "n1", a.Seq);
        await jobs.CompleteAsync(b.JobId, "n1", b.Seq);
        var again = Assert.Single(await jobs.ClaimAsync(SuperGroupPushJobKind.Digest, "n1", 2600, 7000, 10));
        Assert.Equal((a.JobId, 12L, ""), (again.JobId, again.Seq, again.After));

        // A shutdown gives the owner's jobs up at once, with their progress.
        Assert.True(await jobs.AdvanceAsync(again.JobId, "n1", "user-0001", 7000));
        await jobs.ReleaseAsync("n1");
        var taken = Assert.Single(await jobs.ClaimAsync(SuperGroupPushJobKind.Digest, "n2", 2700, 8000, 10));
        Assert.Equal((again.JobId, "user-0001"), (taken.JobId, taken.After));
    }
}
