using System.Net.Http.Json;
using System.Net.WebSockets;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Npgsql;
using Parley.IntegrationTests.Infrastructure;
using Parley.Protocol.V1;
using Parley.Sdk;
using Xunit.Abstractions;

namespace Parley.IntegrationTests;

/// <summary>
/// Issues 18, 19 and 20 across real processes: two server processes in Redis cluster mode on one PostgreSQL schema, with
/// friends-only 1:1s and the OpenIM edge. A notification account created through one node is one on the other at once
/// (its messages reach an OpenIM session there in the notification conversation <c>sn_…</c>, and friends-only does not
/// refuse them); an OpenIM connection that dropped on one node and reconnects to the other is replayed what it missed (the
/// position is in the shared database); a reply to an edited message shows the latest revision in the quote on every node.
/// </summary>
public sealed class EdgeProcessClusterTests(ITestOutputHelper output) : IAsyncLifetime
{
    private readonly string _openImSecret = Convert.ToHexString(RandomNumberGenerator.GetBytes(32));
    private readonly string _schema = "edge_" + Guid.NewGuid().ToString("N");
    private readonly string _serviceId = "parley-edge-" + Guid.NewGuid().ToString("N");
    private readonly string _root = Path.Combine(Path.GetTempPath(), "parley-edge-" + Guid.NewGuid().ToString("N"));
    private readonly string _signingKey = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32));
    private readonly string _pushKey = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32));
    private readonly List<ServerProcess> _nodes = [];
    private readonly List<IDisposable> _disposables = [];
    private readonly List<IAsyncDisposable> _asyncDisposables = [];

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        for (var i = 0; i < _nodes.Count; i++)
        {
            foreach (var line in _nodes[i].RecentOutput.Split('\n').Where(l => l.Contains("fail", StringComparison.OrdinalIgnoreCase) || l.Contains("Exception", StringComparison.Ordinal)).TakeLast(15))
            {
                output.WriteLine($"node {i}: {line}");
            }
        }

        foreach (var disposable in _asyncDisposables)
        {
            await disposable.DisposeAsync();
        }

        foreach (var disposable in _disposables)
        {
            disposable.Dispose();
        }

        foreach (var node in _nodes)
        {
            await node.DisposeAsync();
        }

        if (!string.IsNullOrEmpty(Environment.GetEnvironmentVariable(PostgresFactAttribute.Variable)))
        {
            await using var connection = new NpgsqlConnection(Environment.GetEnvironmentVariable(PostgresFactAttribute.Variable));
            await connection.OpenAsync();
            await using var drop = new NpgsqlCommand($"DROP SCHEMA IF EXISTS \"{_schema}\" CASCADE", connection);
            await drop.ExecuteNonQueryAsync();
        }

        if (Directory.Exists(_root))
        {
            Directory.Delete(_root, recursive: true);
        }
    }

    [ClusterFact]
    public async Task TwoProcesses_NotificationAccountsReplayPositionsAndQuotes_AreTheSameOnEveryNode()
    {
        await StartClusterAsync();
        var alice = "ea" + Guid.NewGuid().ToString("N")[..10];
        var bob = "eb" + Guid.NewGuid().ToString("N")[..10];
        foreach (var user in new[] { alice, bob })
        {
            (await _nodes[0].Admin.PostAsJsonAsync("/admin/v1/users", new { userId = user })).EnsureSuccessStatusCode();
        }

        // Issue 19: an account created through node 0 is a notification account on node 1 at once (not after node 1's
        // 5 s re-read): its first message, sent through node 1, reaches bob's OpenIM session there in sn_…, and
        // friends-only lets it through.
        using var bobOpenIm = await OpenImSessionAsync(bob, 1);
        var account = "sys" + Guid.NewGuid().ToString("N")[..10];
        (await _nodes[0].Admin.PostAsJsonAsync("/admin/v1/business/accounts", new { userId = account, nickname = "Orders" })).EnsureSuccessStatusCode();
        var sent = await _nodes[1].Admin.PostAsJsonAsync("/admin/v1/business/messages", new { senderId = account, recipientId = bob, content = new { text = "order shipped" } });
        Assert.True(sent.IsSuccessStatusCode, "the account's send on a friends-only cluster: " + await sent.Content.ReadAsStringAsync());
        var notice = await ReceiveUntilAsync(bobOpenIm, text => text.Contains("order shipped", StringComparison.Ordinal), TimeSpan.FromSeconds(20));
        Assert.NotNull(notice);
        var (first, second) = string.CompareOrdinal(account, bob) < 0 ? (account, bob) : (bob, account);
        Assert.Contains($"sn_{first}_{second}", notice, StringComparison.Ordinal);
        Assert.DoesNotContain($"si_{first}_{second}", notice, StringComparison.Ordinal);

        // Issue 20: alice's OpenIM connection on node 0 drops; what she misses is replayed when she reconnects to node 1.
        await MakeFriendsAsync(alice, bob);
        var bobClient = await ConnectAsync(bob, 1);
        var dropped = await OpenImSessionAsync(alice, 0);
        dropped.Abort();
        dropped.Dispose();
        await Wait.UntilAsync(() => PositionSavedAsync(alice).GetAwaiter().GetResult(), "node 0 saved the dropped connection's position", TimeSpan.FromSeconds(30));
        await bobClient.SendTextAsync(alice, "missed on node 0");
        using var resumed = await OpenImSessionAsync(alice, 1);
        Assert.NotNull(await ReceiveUntilAsync(resumed, text => text.Contains("missed on node 0", StringComparison.Ordinal), TimeSpan.FromSeconds(20)));

        // Issue 18: a reply to an edited message quotes its latest revision, whichever node encodes it.
        var root = await bobClient.SendTextAsync(alice, "first draft");
        await bobClient.EditAsync(root.ConversationId, root.Seq, new TextContent { Text = "second draft" });
        using var aliceOnNode0 = await OpenImSessionAsync(alice, 0, platform: 3);
        await bobClient.SendAsync(new Target { UserId = alice }, new Content { Text = new TextContent { Text = "about that" }, ReplyTo = new ReplyTo { Seq = root.Seq } });
        foreach (var socket in new[] { resumed, aliceOnNode0 })
        {
            var quote = await ReceiveUntilAsync(socket, text => text.Contains("about that", StringComparison.Ordinal), TimeSpan.FromSeconds(20));
            Assert.NotNull(quote);
            Assert.Contains("second draft", quote, StringComparison.Ordinal);
            Assert.DoesNotContain("first draft", quote, StringComparison.Ordinal);
        }
    }

    private async Task MakeFriendsAsync(string a, string b)
    {
        var aClient = await ConnectAsync(a, 0, "friend-" + a);
        var bClient = await ConnectAsync(b, 0, "friend-" + b);
        await aClient.SendFriendRequestAsync(b);
        await bClient.RespondFriendRequestAsync(a, accept: true);
    }

    private async Task<bool> PositionSavedAsync(string userId)
    {
        await using var connection = new NpgsqlConnection(Environment.GetEnvironmentVariable(PostgresFactAttribute.Variable));
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand($"SELECT COUNT(*) FROM \"{_schema}\".resume_positions WHERE user_id = $1", connection);
        command.Parameters.AddWithValue(userId);
        return Convert.ToInt64(await command.ExecuteScalarAsync(), System.Globalization.CultureInfo.InvariantCulture) > 0;
    }

    private async Task StartClusterAsync()
    {
        var redis = Environment.GetEnvironmentVariable(ClusterFactAttribute.RedisVariable)!;
        for (var i = 0; i < 2; i++)
        {
            var node = new ServerProcess(Path.Combine(_root, $"node{i}"));
            node.Settings["Parley__Cluster__Mode"] = "Redis";
            node.Settings["Parley__Cluster__Redis"] = redis;
            node.Settings["Parley__Cluster__AdvertisedAddress"] = "127.0.0.1";
            node.Settings["Parley__Orleans__ServiceId"] = _serviceId;
            node.Settings["Parley__Orleans__ClusterId"] = _serviceId;
            node.Settings["Parley__Storage__Provider"] = "Postgres";
            node.Settings["Parley__Storage__Postgres__ConnectionString"] = Environment.GetEnvironmentVariable(PostgresFactAttribute.Variable)!;
            node.Settings["Parley__Storage__Postgres__Schema"] = _schema;
            node.Settings["Parley__Tokens__SigningKey"] = _signingKey;
            node.Settings["Parley__Push__TokenKey"] = _pushKey;
            node.Settings["Parley__Social__FriendsOnlyDirectMessages"] = "true";
            node.Settings["Parley__OpenIM__Enabled"] = "true";
            node.Settings["Parley__OpenIM__Secret"] = _openImSecret;
            node.Settings["Parley__OpenIM__ApiPort"] = "0";
            node.Settings["Parley__OpenIM__WsPort"] = "0";
            _nodes.Add(node);
        }

        await _nodes[0].StartAsync();
        await _nodes[1].StartAsync();
        await using var mux = await StackExchange.Redis.ConnectionMultiplexer.ConnectAsync(redis);
        var db = mux.GetDatabase();
        await Wait.UntilAsync(
            () => db.HashGetAll($"{_serviceId}/members/{_serviceId}").Count(e => e.Name != "Version" && e.Value.ToString().Contains("\"Status\":3", StringComparison.Ordinal)) >= 2,
            "2 active silos",
            TimeSpan.FromSeconds(60));
    }

    private async Task<ParleyClient> ConnectAsync(string userId, int node, string? deviceId = null)
    {
        deviceId ??= "d-" + userId;
        var response = await _nodes[node].Admin.PostAsJsonAsync($"/admin/v1/users/{userId}/tokens", new { deviceId, platform = "linux" });
        response.EnsureSuccessStatusCode();
        using var issued = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        var client = new ParleyClient(new ParleyClientOptions
        {
            ServerUri = _nodes[node].WebSocketUri,
            Token = issued.RootElement.GetProperty("token").GetString()!,
            DeviceId = deviceId,
            Platform = Platform.Linux,
            SendTimeout = TimeSpan.FromSeconds(30),
        });
        _asyncDisposables.Add(client);
        await client.ConnectAsync();
        return client;
    }

    /// <summary>An OpenIM session (web by default) of <paramref name="userId"/> on a node, over a raw WebSocket, after its handshake answer.</summary>
    private async Task<ClientWebSocket> OpenImSessionAsync(string userId, int node, int platform = 5)
    {
        var http = new HttpClient { BaseAddress = _nodes[node].BaseUri };
        _disposables.Add(http);
        var admin = await OpenImPostAsync(http, "/auth/get_admin_token", new { secret = _openImSecret, userID = "imAdmin" }, null);
        var token = await OpenImPostAsync(http, "/auth/get_user_token", new { platformID = platform, userID = userId }, admin.GetProperty("token").GetString());
        var socket = new ClientWebSocket();
        var query = $"sendID={userId}&token={token.GetProperty("token").GetString()}&platformID={platform}&operationID=op-{Guid.NewGuid():N}&isBackground=false&isMsgResp=true&sdkType=js";
        await socket.ConnectAsync(new Uri($"ws://127.0.0.1:{_nodes[node].HttpPort}/openim/ws?{query}"), CancellationToken.None);
        Assert.NotNull(await ReceiveUntilAsync(socket, text => text.Contains("\"errCode\":0", StringComparison.Ordinal), TimeSpan.FromSeconds(20)));
        return socket;
    }

    private static async Task<JsonElement> OpenImPostAsync(HttpClient http, string path, object body, string? token)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = JsonContent.Create(body) };
        request.Headers.Add("operationID", "op-" + Guid.NewGuid().ToString("N"));
        if (token is not null)
        {
            request.Headers.Add("token", token);
        }

        using var response = await http.SendAsync(request);
        using var document = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal(0, document.RootElement.GetProperty("errCode").GetInt32());
        return document.RootElement.GetProperty("data").Clone();
    }

    /// <summary>
    /// Reads frames until one matches: each frame's JSON, with its base64 <c>data</c> (OpenIM's protobuf payload, whose
    /// strings are UTF-8) appended as text so the payload's ids and texts can be matched. Null on timeout or close.
    /// </summary>
    private static async Task<string?> ReceiveUntilAsync(ClientWebSocket socket, Func<string, bool> match, TimeSpan timeout)
    {
        using var cancel = new CancellationTokenSource(timeout);
        var buffer = new byte[64 * 1024];
        try
        {
            while (true)
            {
                using var frame = new MemoryStream();
                WebSocketReceiveResult result;
                do
                {
                    result = await socket.ReceiveAsync(buffer, cancel.Token);
                    frame.Write(buffer, 0, result.Count);
                }
                while (!result.EndOfMessage);

                if (result.MessageType == WebSocketMessageType.Close)
                {
                    return null;
                }

                var text = Encoding.UTF8.GetString(frame.ToArray());
                if (text.StartsWith('{') && JsonDocument.Parse(text).RootElement.TryGetProperty("data", out var data) && data.ValueKind == JsonValueKind.String)
                {
                    text += "\n" + Encoding.UTF8.GetString(Convert.FromBase64String(data.GetString()!));
                }

                if (match(text))
                {
                    return text;
                }
            }
        }
        catch (OperationCanceledException)
        {
            return null;
        }
    }
}
