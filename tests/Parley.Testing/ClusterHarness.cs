using System.Net.WebSockets;
using System.Security.Cryptography;
using Microsoft.Extensions.Hosting;
using Orleans.Configuration;
using Orleans.Hosting;
using Parley.Protocol.V1;
using Parley.Sdk;

namespace Parley.Testing;

/// <summary>
/// N real server processes (<see cref="ServerProcess"/>) forming one Orleans cluster (<c>Parley:Cluster:Mode=Redis</c>) on
/// one fresh PostgreSQL schema (PARLEY_TEST_POSTGRES) and one Redis (PARLEY_TEST_REDIS), each on free ports with its own
/// data directory and the same signing and push keys. Starts them one at a time and waits until Redis membership lists
/// them all active; kills and restarts nodes; on dispose prints the nodes' warnings and errors (for a failure's
/// diagnosis), kills every node, drops the schema and deletes the data directories.
/// </summary>
public sealed class ClusterHarness : IAsyncDisposable
{
    private readonly Action<string>? _log;
    private readonly List<ServerProcess> _nodes = [];
    private readonly List<IAsyncDisposable> _tracked = [];
    private readonly string _root;
    private StackExchange.Redis.ConnectionMultiplexer? _redis;

    /// <param name="name">A short tag for the schema, Orleans service id and temp directory (e.g. "cl").</param>
    /// <param name="log">Where the nodes' warnings and errors go on dispose (a test's output), or nowhere.</param>
    public ClusterHarness(string name, Action<string>? log = null)
    {
        _log = log;
        var id = Guid.NewGuid().ToString("N");
        Schema = $"{name}_{id}";
        ServiceId = $"parley-{name}-{id}";
        _root = Path.Combine(Path.GetTempPath(), $"parley-{name}-{id}");
    }

    public static string Postgres => PostgresFactAttribute.ConnectionString;

    public static string Redis => Environment.GetEnvironmentVariable(ClusterFactAttribute.RedisVariable) ?? throw new InvalidOperationException(ClusterFactAttribute.MissingMessage);

    /// <summary>The PostgreSQL schema every node uses (dropped on dispose).</summary>
    public string Schema { get; }

    /// <summary>The Orleans service and cluster id (membership lives in the Redis hash <c>{ServiceId}/members/{ServiceId}</c>).</summary>
    public string ServiceId { get; }

    public string SigningKey { get; } = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32));

    public string PushKey { get; } = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32));

    /// <summary>The OpenIM edge's secret (for its admin and user tokens) on the nodes <see cref="EnableOpenIm"/> turned it on for.</summary>
    public string OpenImSecret { get; } = Convert.ToHexString(RandomNumberGenerator.GetBytes(32));

    public IReadOnlyList<ServerProcess> Nodes => _nodes;

    public ServerProcess this[int node] => _nodes[node];

    /// <summary>
    /// Adds <paramref name="count"/> nodes (cluster, storage and key settings, then <paramref name="configure"/> with the
    /// node's index for the test's own), starts them one at a time and waits for <paramref name="count"/> active silos.
    /// The first node creates the schema; the others join one at a time (two silos joining at once each validate
    /// connectivity with every active silo under 2 s probes, which a starved machine turns into minute-long joins).
    /// </summary>
    public async Task StartAsync(int count, Action<int, ServerProcess>? configure = null)
    {
        var first = _nodes.Count;
        for (var i = first; i < first + count; i++)
        {
            var node = new ServerProcess(Path.Combine(_root, $"node{i}"));
            node.Settings["Parley__Cluster__Mode"] = "Redis";
            node.Settings["Parley__Cluster__Redis"] = Redis;
            node.Settings["Parley__Cluster__AdvertisedAddress"] = "127.0.0.1";
            node.Settings["Parley__Orleans__ServiceId"] = ServiceId;
            node.Settings["Parley__Orleans__ClusterId"] = ServiceId;
            node.Configure(PostgresFactAttribute.ServerSettings(Schema));
            node.Settings["Parley__Tokens__SigningKey"] = SigningKey;
            node.Settings["Parley__Push__TokenKey"] = PushKey;
            configure?.Invoke(i, node);
            _nodes.Add(node);
        }

        for (var i = first; i < _nodes.Count; i++)
        {
            var watch = System.Diagnostics.Stopwatch.StartNew();
            await _nodes[i].StartAsync();
            _log?.Invoke($"node {i} ready after {watch.Elapsed.TotalSeconds:F1} s"); // how long a start takes at the machine's load
        }

        await WaitUntilFormedAsync();
    }

    /// <summary>
    /// Waits (up to 120 s) until every node is an active silo. Orleans stops a silo that its peers declared dead, and a
    /// peer whose probes (2 s, 3 missed) went unanswered while a starved machine formed the cluster can be declared dead
    /// although it runs (CI: two test projects at once on two cores; a node frozen for 25 s does it too). Such a node is
    /// started again on its ports at once, as an orchestrator restarts a pod, at most twice in one wait, and the output
    /// says so. A node that dies after the cluster formed is the test's business, not this wait's.
    /// </summary>
    public async Task WaitUntilFormedAsync()
    {
        var limit = TimeSpan.FromSeconds(120);
        var watch = System.Diagnostics.Stopwatch.StartNew();
        for (var restarts = 0; ;)
        {
            var entries = MembershipStatuses();
            if (entries.Count(e => e.Status == 3) >= _nodes.Count)
            {
                return;
            }

            // A port whose latest generation is dead: that node's process stops itself (or has), and must start again.
            var declaredDead = entries.GroupBy(e => e.Port).Select(g => g.MaxBy(e => e.Generation)).Where(e => e.Status == 6).Select(e => e.Port).ToHashSet();
            var restart = Enumerable.Range(0, _nodes.Count).Where(i => !_nodes[i].IsRunning || declaredDead.Contains(_nodes[i].SiloPort)).ToList();
            if (restart.Count > 0 && restarts < 2)
            {
                restarts++;
                foreach (var i in restart)
                {
                    _log?.Invoke($"node {i} ({_nodes[i].ProcessState}, its silo {(declaredDead.Contains(_nodes[i].SiloPort) ? "declared dead" : "not dead in membership")}) while the cluster formed: started again; its last lines:\n  {string.Join("\n  ", _nodes[i].RecentOutput.Split('\n').Where(l => !l.TrimStart().StartsWith("at ", StringComparison.Ordinal)).TakeLast(4))}");
                    await _nodes[i].KillAsync();
                    await _nodes[i].StartAsync();
                }

                watch.Restart();
                continue;
            }

            if (watch.Elapsed > limit)
            {
                Assert.Fail($"Timed out after {limit.TotalSeconds:0} s waiting until {_nodes.Count} active silos (after {restarts} restarts); {DescribeMembership(entries)}");
            }

            await Task.Delay(250);
        }
    }

    /// <summary>
    /// This cluster's Orleans membership in Redis, one entry per silo generation (a node started again on its ports is a
    /// new generation): its silo port and status (Orleans' SiloStatus: 1 Created, 2 Joining, 3 Active, 4 ShuttingDown,
    /// 5 Stopping, 6 Dead).
    /// </summary>
    public IReadOnlyList<(int Port, long Generation, int Status)> MembershipStatuses()
    {
        var result = new List<(int, long, int)>();
        foreach (var entry in (_redis ??= StackExchange.Redis.ConnectionMultiplexer.Connect(Redis)).GetDatabase().HashGetAll(MembersKey))
        {
            // Entries are named "S{ip}:{port}:{generation}" and hold JSON with "Status":n.
            var parts = entry.Name.ToString().Split(':');
            var status = System.Text.RegularExpressions.Regex.Match(entry.Value.ToString(), "\"Status\":(\\d+)");
            if (parts.Length == 3 && int.TryParse(parts[1], out var port) && long.TryParse(parts[2], out var generation) && status.Success)
            {
                result.Add((port, generation, int.Parse(status.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture)));
            }
        }

        return result;
    }

    private string MembersKey => $"{ServiceId}/members/{ServiceId}";

    /// <summary>
    /// Turns a node's OpenIM edge on (from <see cref="StartAsync"/>'s configure): its REST API and WebSocket on the node's
    /// HTTP port, with <see cref="OpenImSecret"/>.
    /// </summary>
    public void EnableOpenIm(ServerProcess node)
    {
        node.Settings["Parley__OpenIM__Enabled"] = "true";
        node.Settings["Parley__OpenIM__Secret"] = OpenImSecret;
        node.Settings["Parley__OpenIM__ApiPort"] = "0";
        node.Settings["Parley__OpenIM__WsPort"] = "0";
    }

    /// <summary>A raw OpenIM session of <paramref name="userId"/> on a node with the edge on (<see cref="OpenImSocket.ConnectAsync"/>; platform 5, web, by default).</summary>
    public Task<ClientWebSocket> OpenImSessionAsync(string userId, int node, int platform = 5) => OpenImSocket.ConnectAsync(_nodes[node], OpenImSecret, userId, platform);

    /// <summary>
    /// The test as an Orleans client of the cluster (membership in the same Redis, the nodes' gateways), started: its
    /// services give the <c>IClusterClient</c>. Stop and dispose it before the cluster.
    /// </summary>
    public async Task<IHost> StartOrleansClientAsync()
    {
        var host = Host.CreateDefaultBuilder()
            .UseOrleansClient(c =>
            {
                c.UseRedisClustering(o => o.ConfigurationOptions = StackExchange.Redis.ConfigurationOptions.Parse(Redis));
                c.Configure<ClusterOptions>(o =>
                {
                    o.ClusterId = ServiceId;
                    o.ServiceId = ServiceId;
                });
            })
            .Build();
        await host.StartAsync();
        return host;
    }

    /// <summary>SIGKILL of one node: no shutdown hooks, no flushes; its membership entry stays until the others vote it dead.</summary>
    public Task KillAsync(int node) => _nodes[node].KillAsync();

    /// <summary>Starts a killed node again on its ports and data directory, and waits until every node is an active silo.</summary>
    public async Task RestartAsync(int node)
    {
        await _nodes[node].StartAsync();
        await WaitUntilFormedAsync();
    }

    /// <summary>
    /// What a membership wait that timed out saw: each entry's silo and status (<see cref="MembershipStatuses"/>), and
    /// each node's process with its last lines.
    /// </summary>
    private string DescribeMembership(IReadOnlyList<(int Port, long Generation, int Status)> entries)
    {
        var text = new System.Text.StringBuilder();
        text.Append("membership: ");
        text.AppendJoin(" ", entries.Select(e => $"[silo port {e.Port} generation {e.Generation}: status {e.Status}]"));
        for (var i = 0; i < _nodes.Count; i++)
        {
            text.Append($"\nnode {i} (silo port {_nodes[i].SiloPort}): {_nodes[i].ProcessState}; last lines:\n  ");
            text.AppendJoin("\n  ", _nodes[i].RecentOutput.Split('\n').TakeLast(6));
        }

        return text.ToString();
    }

    /// <summary>Creates a user through a node's admin API.</summary>
    public Task CreateUserAsync(string userId, int node = 0) => _nodes[node].CreateUserAsync(userId);

    /// <summary>Issues a device token through a node's admin API.</summary>
    public Task<IssuedToken> IssueTokenAsync(string userId, int node, string deviceId, Platform platform) => _nodes[node].IssueTokenAsync(userId, deviceId, platform);

    /// <summary>Disposed first when the harness is (in the order tracked): the test's clients and receivers, before the nodes stop.</summary>
    public T Track<T>(T disposable)
        where T : IAsyncDisposable
    {
        _tracked.Add(disposable);
        return disposable;
    }

    /// <summary>
    /// A connected <see cref="ParleyClient"/> of <paramref name="userId"/> on a node (a token from its admin API, sends
    /// waited for 30 s), disposed with the harness.
    /// </summary>
    public async Task<ParleyClient> ConnectAsync(string userId, int node, string deviceId, Platform platform = Platform.Linux)
    {
        var issued = await IssueTokenAsync(userId, node, deviceId, platform);
        var client = Track(new ParleyClient(new ParleyClientOptions
        {
            ServerUri = _nodes[node].WebSocketUri,
            Token = issued.Token,
            DeviceId = deviceId,
            Platform = platform,
            SendTimeout = TimeSpan.FromSeconds(30),
        }));
        await client.ConnectAsync();
        return client;
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var disposable in _tracked)
        {
            await disposable.DisposeAsync();
        }

        if (_log is not null)
        {
            // The nodes' warnings and errors (Logging: Warning), for a failure's diagnosis.
            for (var i = 0; i < _nodes.Count; i++)
            {
                foreach (var line in _nodes[i].RecentOutput.Split('\n').Where(l => l.Contains("fail", StringComparison.OrdinalIgnoreCase) || l.Contains("Exception", StringComparison.Ordinal)).TakeLast(15))
                {
                    _log($"node {i}: {line}");
                }
            }
        }

        foreach (var node in _nodes)
        {
            await node.DisposeAsync();
        }

        await PostgresFactAttribute.DropSchemaAsync(Schema);
        if (_redis is not null)
        {
            await _redis.DisposeAsync();
        }

        if (Directory.Exists(_root))
        {
            Directory.Delete(_root, recursive: true);
        }
    }
}
