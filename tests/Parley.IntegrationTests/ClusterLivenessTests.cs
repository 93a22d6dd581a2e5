using System.Diagnostics;
using System.Globalization;
using Parley.Protocol.V1;
using Xunit.Abstractions;

namespace Parley.IntegrationTests;

/// <summary>
/// Membership liveness on a real two-node cluster (PostgreSQL + Redis): what happens to a node that stops answering its
/// peer's probes without dying, as a node starved of CPU or paused by its host does.
/// </summary>
public sealed class ClusterLivenessTests(ITestOutputHelper output) : ClusterTest("lv", output)
{
    // A node frozen (SIGSTOP) well past its peer's probes (2 s, 3 missed) is declared dead by the peer; when it runs again
    // it finds itself dead in membership and stops (Orleans: a silo declared dead never serves again, so nothing is
    // served twice). Started again on its ports (by the cluster harness's wait, as an orchestrator restarts a pod), it rejoins under a new generation and the two nodes deliver to each
    // other.
    [ClusterFact]
    public async Task ANodeFrozenPastItsPeersProbes_IsDeclaredDead_StopsItself_AndRejoinsWhenStartedAgain()
    {
        await Cluster.StartAsync(2);
        var frozen = Cluster[1];
        var pid = frozen.ProcessId ?? throw new InvalidOperationException("node 1 is not running");
        var port = frozen.SiloPort;
        await SignalAsync("STOP", pid);
        try
        {
            await Wait.UntilAsync(() => Cluster.MembershipStatuses().Any(s => s.Port == port && s.Status == 6), "node 0 to declare the frozen node 1 dead", TimeSpan.FromSeconds(90));
        }
        finally
        {
            await SignalAsync("CONT", pid);
        }

        await Wait.UntilAsync(() => !frozen.IsRunning, () => $"node 1 to stop itself once it runs again; it is {frozen.ProcessState}", TimeSpan.FromSeconds(90));
        Output.WriteLine($"node 1 after it found itself dead: {frozen.ProcessState}");
        Assert.True(Cluster[0].IsRunning, "node 0, the one that voted, must keep running");

        // The harness's wait for the cluster starts a node whose silo was declared dead again (as it does while a starved
        // machine forms a cluster), on the same ports.
        await Cluster.WaitUntilFormedAsync();
        Assert.True(frozen.IsRunning, $"node 1 must have been started again; it is {frozen.ProcessState}");
        Assert.Equal(2, Cluster.MembershipStatuses().Count(s => s.Status == 3));
        Assert.Contains(Cluster.MembershipStatuses(), s => s.Port == port && s.Status == 6); // the old generation stays dead

        await Cluster.CreateUserAsync("alice");
        await Cluster.CreateUserAsync("bob");
        var alice = await Cluster.ConnectAsync("alice", 0, "d1");
        var bob = await Cluster.ConnectAsync("bob", 1, "d1");
        var received = new List<string>();
        bob.MessageReceived += (_, e) =>
        {
            lock (received)
            {
                received.Add(e.Message.ClientMsgId);
            }
        };
        var receipt = await alice.SendTextAsync("bob", "after the rejoin", "rejoin-1");
        Assert.Equal(1UL, receipt.Seq);
        await Wait.UntilAsync(() => { lock (received) { return received.Contains("rejoin-1"); } }, "bob on the rejoined node to get alice's message", TimeSpan.FromSeconds(30));
    }

    private static async Task SignalAsync(string signal, int pid)
    {
        using var kill = Process.Start(new ProcessStartInfo("kill") { ArgumentList = { "-" + signal, pid.ToString(CultureInfo.InvariantCulture) }, UseShellExecute = false })!;
        await kill.WaitForExitAsync();
        Assert.Equal(0, kill.ExitCode);
    }
}
