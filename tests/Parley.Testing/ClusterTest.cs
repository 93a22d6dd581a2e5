using Parley.Sdk;
using Xunit.Abstractions;

namespace Parley.Testing;

/// <summary>
/// A test class whose every test runs on a cluster of its own (<see cref="ClusterHarness"/>; xunit makes the class anew
/// for each test), disposed after the test: the clients in <see cref="Clients"/> first, then what the cluster tracks, then
/// the nodes, whose warnings and errors go to the test's output.
/// </summary>
public abstract class ClusterTest(string name, ITestOutputHelper output) : IAsyncLifetime
{
    protected ClusterHarness Cluster { get; } = new(name, output.WriteLine);

    protected ITestOutputHelper Output { get; } = output;

    /// <summary>
    /// The test's clients made with <see cref="ServerProcess.ConnectAsync"/> (which adds each to the list it is given),
    /// disposed before the nodes stop; a test that disposes one itself may remove it.
    /// </summary>
    protected List<ParleyClient> Clients { get; } = [];

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        foreach (var client in Clients)
        {
            await client.DisposeAsync();
        }

        await Cluster.DisposeAsync();
    }
}
