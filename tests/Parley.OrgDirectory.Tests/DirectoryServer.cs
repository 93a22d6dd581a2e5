using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Net.WebSockets;
using System.Security.Cryptography;
using System.Text.Json;
using Google.Protobuf;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Parley.OrgDirectory.Admin;
using Parley.Protocol;
using Parley.Protocol.V1;

namespace Parley.OrgDirectory.Tests;

/// <summary>The real server (Kestrel on loopback, Orleans silo, SQLite on a temp file) with the directory added, in process.</summary>
public sealed class DirectoryServer : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly string _dataDirectory;

    private DirectoryServer(WebApplication app, string dataDirectory, string secret)
    {
        _app = app;
        _dataDirectory = dataDirectory;
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        BaseUri = new Uri(address);
        WebSocketUri = new Uri($"ws://{BaseUri.Host}:{BaseUri.Port}/ws");
        Admin = new HttpClient { BaseAddress = BaseUri };
        Admin.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", secret);
    }

    public Uri BaseUri { get; }

    public Uri WebSocketUri { get; }

    public HttpClient Admin { get; }

    public static Task<DirectoryServer> StartAsync(IDictionary<string, string?>? settings = null) =>
        TestServer.RetryOnPortRaceAsync(settings, async () =>
        {
            var dataDirectory = Path.Combine(Path.GetTempPath(), "parley-dirtest-" + Guid.NewGuid().ToString("N"));
            var secret = Convert.ToHexString(RandomNumberGenerator.GetBytes(32));
            var config = TestServer.BaseSettings(secret, dataDirectory);
            foreach (var (key, value) in settings ?? new Dictionary<string, string?>())
            {
                config[key] = value;
            }

            // The server wires the directory itself (AddParleyDirectory/MapParleyDirectoryAdmin inside AddParleyServer/MapParley).
            var app = await TestServer.StartAppAsync(config, ["http://127.0.0.1:0"], clock: null, configure: null);
            return new DirectoryServer(app, dataDirectory, secret);
        });

    public async Task<string> CreateUserAsync(string prefix)
    {
        var userId = $"{prefix}-{Guid.NewGuid():N}"[..(prefix.Length + 9)];
        var response = await Admin.PostAsJsonAsync("/admin/v1/users", new { userId, nickname = prefix });
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        return userId;
    }

    /// <summary>A raw protocol client, signed in as <paramref name="userId"/> and past the initial sync.</summary>
    public async Task<ProtocolClient> ConnectAsync(string userId)
    {
        var response = await Admin.PostAsJsonAsync($"/admin/v1/users/{userId}/tokens", new { deviceId = "d1", platform = "linux" });
        response.EnsureSuccessStatusCode();
        var token = (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("token").GetString()!;
        var client = await ProtocolClient.ConnectAsync(WebSocketUri);
        await client.HelloAsync(token, "d1");
        return client;
    }

    /// <summary>Posts and expects success; returns the JSON body.</summary>
    public async Task<JsonElement> SendOkAsync(HttpMethod method, string path, object? body = null)
    {
        using var request = new HttpRequestMessage(method, path) { Content = body is null ? null : JsonContent.Create(body) };
        using var response = await Admin.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, $"{method} {path}: {(int)response.StatusCode} {text}");
        return JsonDocument.Parse(text).RootElement.Clone();
    }

    public async ValueTask DisposeAsync()
    {
        Admin.Dispose();
        await TestServer.StopAppAsync(_app, _dataDirectory);
    }
}

/// <summary>A bare WebSocket speaking the native protocol.</summary>
public sealed class ProtocolClient : IAsyncDisposable
{
    private readonly ClientWebSocket _socket = new();
    private uint _nextRequestId = 1;

    public static async Task<ProtocolClient> ConnectAsync(Uri uri)
    {
        var client = new ProtocolClient();
        client._socket.Options.AddSubProtocol(FrameCodec.SubProtocol);
        await client._socket.ConnectAsync(uri, CancellationToken.None);
        return client;
    }

    public async Task HelloAsync(string token, string deviceId)
    {
        await SendAsync(new ClientFrame { RequestId = _nextRequestId++, Hello = new Hello { Token = token, DeviceId = deviceId, Platform = Platform.Linux } });
        Assert.Equal(ServerFrame.BodyOneofCase.HelloOk, (await ReceiveAsync()).BodyCase);
        await ReceiveUntilAsync(f => f.BodyCase == ServerFrame.BodyOneofCase.SyncComplete, "the initial sync to complete");
    }

    public async Task<DirectoryDelta> SyncDirectoryAsync(ulong version)
    {
        var id = _nextRequestId++;
        await SendAsync(new ClientFrame { RequestId = id, SyncDirectory = new SyncDirectoryRequest { Version = version } });
        var answer = await ReceiveUntilAsync(f => f.RequestId == id, "the SyncDirectoryRequest answer");
        Assert.True(answer.BodyCase == ServerFrame.BodyOneofCase.Directory, $"expected a DirectoryDelta, got {answer}");
        return answer.Directory;
    }

    public async Task<ServerFrame> SendAndReceiveAsync(ClientFrame frame)
    {
        frame.RequestId = _nextRequestId++;
        await SendAsync(frame);
        return await ReceiveUntilAsync(f => f.RequestId == frame.RequestId, "the answer");
    }

    /// <summary>Reads frames (dropping others) until one matches; fails after the timeout.</summary>
    public async Task<ServerFrame> ReceiveUntilAsync(Func<ServerFrame, bool> match, string what, TimeSpan? timeout = null)
    {
        using var cts = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(15));
        while (true)
        {
            ServerFrame frame;
            try
            {
                frame = await ReceiveAsync(cts.Token);
            }
            catch (OperationCanceledException)
            {
                throw new TimeoutException($"Timed out waiting for {what}.");
            }

            if (match(frame))
            {
                return frame;
            }
        }
    }

    private Task SendAsync(ClientFrame frame) => _socket.SendAsync(frame.ToByteArray(), WebSocketMessageType.Binary, true, CancellationToken.None);

    private async Task<ServerFrame> ReceiveAsync(CancellationToken cancellationToken = default)
    {
        var buffer = new byte[1 << 20];
        var count = 0;
        while (true)
        {
            var result = await _socket.ReceiveAsync(buffer.AsMemory(count), cancellationToken);
            Assert.NotEqual(WebSocketMessageType.Close, result.MessageType);
            count += result.Count;
            if (result.EndOfMessage)
            {
                Assert.True(FrameCodec.TryDecodeServer(buffer.AsSpan(0, count), out var frame), "undecodable frame");
                return frame!;
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            if (_socket.State == WebSocketState.Open)
            {
                using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(2));
                await _socket.CloseAsync(WebSocketCloseStatus.NormalClosure, "done", cts.Token);
            }
        }
        catch (Exception ex) when (ex is WebSocketException or OperationCanceledException)
        {
            // Best effort.
        }

        _socket.Dispose();
    }
}
