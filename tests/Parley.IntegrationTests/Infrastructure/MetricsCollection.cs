namespace Parley.IntegrationTests.Infrastructure;

/// <summary>
/// Test classes that read a server's <c>/metrics</c> run alone, after the parallel tests. Every server of this process
/// exports the meters named "Parley"; while other test classes start and dispose their servers beside it, a server's
/// exposition loses series mid-test (seen in clean-clone CI runs as a missing <c>parley_gateway_connections</c> line).
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class MetricsCollection
{
    public const string Name = "metrics";
}
