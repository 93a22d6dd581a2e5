using System.Globalization;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text.Json;

namespace Parley.LoadTest;

/// <summary>
/// Scenario <c>openim</c> (issue 17, "1:1 through the OpenIM edge"): the <c>chat</c> ramp (<c>--chat-users</c> in random
/// pairs unless <c>--chat-peers</c>, <c>--chat-rates</c>, <c>--senders</c>, <c>--payload</c>), every user an OpenIM JS
/// SDK client instead of a native one: registered with OpenIM's REST <c>/user/user_register</c>, its token from
/// <c>/auth/get_user_token</c> (platform 5, Web) with an admin token from <c>/auth/get_admin_token</c>, connected to the
/// OpenIM WebSocket edge (<see cref="OpenImConnection"/>), sending 1003 and receiving 2001, each connection sending the
/// SDK's text ping every 10 s. Measured and accounted message by message exactly as <c>chat</c> (the same steps, ledger,
/// latency percentiles, server CPU and allocation per message), so the two are comparable in one run
/// (<c>--scenarios chat,openim</c> interleaves them). A server started here gets the OpenIM edge switched on at
/// <c>/openim/ws</c> and the REST endpoints on its own port; for an existing server (<c>--server-url</c>) the edge must run
/// the same way (<c>Parley__OpenIM__ApiPort=0</c>, <c>Parley__OpenIM__WsPort=0</c>) and <c>PARLEY_OPENIM_SECRET</c> hold its
/// OpenIM secret. The relay speaks the same envelopes (<see cref="RawRelay"/>), the codec and transport ceiling.
/// </summary>
internal sealed partial class Runner
{
    /// <summary>The path of the OpenIM WebSocket edge when it has no port of its own (Parley:OpenIM:WebSocketPath).</summary>
    public const string OpenImWebSocketPath = "openim/ws";

    private static readonly TimeSpan OpenImHeartbeat = TimeSpan.FromSeconds(10);

    private readonly string _openImSecret = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(32));

    /// <summary>The server settings that switch the OpenIM edge on at the server's own port (a server started here).</summary>
    private KeyValuePair<string, string>[] OpenImServerEnv() =>
    [
        new("Parley__OpenIM__Enabled", "true"),
        new("Parley__OpenIM__Secret", _openImSecret),
        new("Parley__OpenIM__ApiPort", "0"),
        new("Parley__OpenIM__WsPort", "0"),
    ];

    private string OpenImSecretOf(TargetProcess target) =>
        target.DataDirectory is null && target.Name == "parley"
            ? Environment.GetEnvironmentVariable("PARLEY_OPENIM_SECRET") ?? throw new InvalidOperationException("the openim scenario against an existing server needs its OpenIM secret in PARLEY_OPENIM_SECRET")
            : _openImSecret;

    private async Task<StepResult> OpenImChatAsync(int run, TargetProcess target, string prefix)
    {
        var n = o.ChatUsers;
        string[] tokens;
        using (var rest = new OpenImRestClient(target.BaseUrl, OpenImSecretOf(target)))
        {
            tokens = await rest.RegisterAsync(prefix, n).ConfigureAwait(false);
        }

        IReadOnlyList<Uri> bases = target.Endpoints.Count > 0 ? target.Endpoints : [target.BaseUrl];
        var connections = new OpenImConnection[n];
        try
        {
            await Parallel.ForAsync(0, n, new ParallelOptions { MaxDegreeOfParallelism = o.LoginConcurrency }, async (i, _) =>
            {
                var edge = new Uri(bases[i % bases.Count].ToString().Replace("http://", "ws://", StringComparison.Ordinal) + OpenImWebSocketPath);
                connections[i] = await OpenImConnection.ConnectAsync(edge, i, prefix + i, tokens[i], TimeSpan.FromSeconds(30)).ConfigureAwait(false);
            }).ConfigureAwait(false);
        }
        catch
        {
            await DisposeOpenImAsync(connections).ConfigureAwait(false);
            throw;
        }

        using var stopHeartbeat = new CancellationTokenSource();
        var heartbeat = HeartbeatAsync(connections, stopHeartbeat.Token);
        try
        {
            var userIds = Enumerable.Range(0, n).Select(i => prefix + i).ToArray();
            async ValueTask SendOne(StepLedger ledger, int idx, long ts, Random rnd)
            {
                var (s, r) = ChatPair(rnd, n);
                var sender = connections[s];
                var frame = sender.TextMessage(
                    ledger.RequestId(idx),
                    userIds[r],
                    ledger.ClientMsgId('o', idx),
                    ledger.Text(idx, ts, o.PayloadBytes),
                    DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());
                await sender.SendAsync(frame).ConfigureAwait(false);
            }

            var summary = await RampAsync(run, "openim", target, connections, o.ChatRates, 1, o.Senders, SendOne).ConfigureAwait(false);
            summary.Metrics["heartbeat_pongs"] = connections.Sum(c => (double)c.Pongs);
            summary.Metrics["sender_echoes"] = connections.Sum(c => (double)c.Echoes);
            return summary;
        }
        finally
        {
            await stopHeartbeat.CancelAsync().ConfigureAwait(false);
            await heartbeat.ConfigureAwait(false);
            await DisposeOpenImAsync(connections).ConfigureAwait(false);
        }
    }

    /// <summary>Every connection sends the SDK's ping once per <see cref="OpenImHeartbeat"/>, spread evenly over it.</summary>
    private static async Task HeartbeatAsync(OpenImConnection[] connections, CancellationToken stop)
    {
        const int ticksPerPeriod = 100;
        var perTick = (connections.Length + ticksPerPeriod - 1) / ticksPerPeriod;
        var next = 0;
        using var timer = new PeriodicTimer(OpenImHeartbeat / ticksPerPeriod);
        try
        {
            while (await timer.WaitForNextTickAsync(stop).ConfigureAwait(false))
            {
                for (var k = 0; k < perTick; k++)
                {
                    var c = connections[next];
                    next = (next + 1) % connections.Length;
                    try
                    {
                        await c.PingAsync().ConfigureAwait(false);
                    }
                    catch (Exception ex) when (ex is System.Net.WebSockets.WebSocketException or ObjectDisposedException or IOException or InvalidOperationException or OperationCanceledException)
                    {
                        // A closed connection: the step reports it.
                    }
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    private static async Task DisposeOpenImAsync(OpenImConnection?[] connections)
    {
        foreach (var c in connections)
        {
            if (c is not null)
            {
                await c.DisposeAsync().ConfigureAwait(false);
            }
        }
    }
}

/// <summary>
/// OpenIM's REST bootstrap as an OpenIM deployment does it: an admin token from the secret, users registered in
/// batches, one user token per user and platform. Tokens stay in memory and are never printed.
/// </summary>
internal sealed class OpenImRestClient(Uri baseUrl, string secret) : IDisposable
{
    private const int RegisterBatch = 1000;
    private readonly HttpClient _http = new(new SocketsHttpHandler { MaxConnectionsPerServer = 64 }) { BaseAddress = baseUrl, Timeout = TimeSpan.FromSeconds(60) };

    /// <summary>Registers <c>{prefix}{i}</c> for i in [0, count) and returns a Web (platform 5) token for each.</summary>
    public async Task<string[]> RegisterAsync(string prefix, int count, int concurrency = 32)
    {
        var admin = (await PostAsync("auth/get_admin_token", new { secret, userID = "imAdmin" }, null).ConfigureAwait(false)).GetProperty("token").GetString()
            ?? throw new InvalidOperationException("no admin token");
        foreach (var batch in Enumerable.Range(0, count).Chunk(RegisterBatch))
        {
            var users = batch.Select(i => new { userID = prefix + i, nickname = "lt " + i, faceURL = string.Empty }).ToArray();
            await PostAsync("user/user_register", new { users }, admin).ConfigureAwait(false);
        }

        var tokens = new string[count];
        await Parallel.ForAsync(0, count, new ParallelOptions { MaxDegreeOfParallelism = concurrency }, async (i, _) =>
        {
            var data = await PostAsync("auth/get_user_token", new { platformID = OpenImConnection.WebPlatform, userID = prefix + i }, admin).ConfigureAwait(false);
            tokens[i] = data.GetProperty("token").GetString() ?? throw new InvalidOperationException("no user token");
        }).ConfigureAwait(false);
        return tokens;
    }

    /// <summary>POSTs as the SDKs do (operationID and token headers) and returns <c>data</c>; a non-zero errCode throws.</summary>
    private async Task<JsonElement> PostAsync(string path, object body, string? token)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = JsonContent.Create(body) };
        request.Headers.Add("operationID", "lt-" + Guid.NewGuid().ToString("N"));
        if (token is not null)
        {
            request.Headers.Add("token", token);
        }

        using var response = await _http.SendAsync(request).ConfigureAwait(false);
        if (!response.IsSuccessStatusCode)
        {
            throw new InvalidOperationException($"OpenIM {path}: HTTP {(int)response.StatusCode}");
        }

        using var document = await JsonDocument.ParseAsync(await response.Content.ReadAsStreamAsync().ConfigureAwait(false)).ConfigureAwait(false);
        var root = document.RootElement;
        var code = root.TryGetProperty("errCode", out var e) && e.ValueKind == JsonValueKind.Number ? e.GetInt32() : -1;
        if (code != 0)
        {
            throw new InvalidOperationException($"OpenIM {path}: errCode {code} {(root.TryGetProperty("errMsg", out var m) ? m.GetString() : "")}");
        }

        return root.TryGetProperty("data", out var data) ? data.Clone() : default;
    }

    public void Dispose() => _http.Dispose();
}
