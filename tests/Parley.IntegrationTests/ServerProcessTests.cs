using System.Net;
using System.Net.Sockets;

namespace Parley.IntegrationTests;

/// <summary>
/// <see cref="ServerProcess.StartAsync"/>'s retry when a port picked free is taken before the server binds it (the race
/// other test processes cause in CI), forced here by holding the port during the start: the server must start on new
/// ports, and the URIs and admin client must follow a new HTTP port.
/// </summary>
public sealed class ServerProcessTests : IAsyncLifetime
{
    private readonly ServerData _data = new("serverprocess");

    public Task InitializeAsync() => Task.CompletedTask;

    public Task DisposeAsync() => _data.DisposeAsync().AsTask();

    [Fact]
    public async Task StartAsync_HttpPortTaken_StartsOnANewHttpPort()
    {
        await using var server = _data.CreateServer(postgres: false);
        var taken = await StartWhileHoldingAsync(server, server.HttpPort);

        Assert.NotEqual(taken, server.HttpPort);
        Assert.Equal(new Uri($"http://127.0.0.1:{server.HttpPort}"), server.BaseUri);
        Assert.Equal(new Uri($"ws://127.0.0.1:{server.HttpPort}/ws"), server.WebSocketUri);
        Assert.Equal(server.BaseUri, server.Admin.BaseAddress);

        // The new admin client carries the secret (a user is created, a token issued) and a client connects on the new URI.
        await server.CreateUserAsync("alice");
        await server.ConnectAsync("alice", _data.Clients);
    }

    [Fact]
    public async Task StartAsync_SiloPortTaken_StartsOnNewOrleansPorts()
    {
        await using var server = _data.CreateServer(postgres: false);
        var httpPort = server.HttpPort;
        var taken = await StartWhileHoldingAsync(server, server.SiloPort);

        Assert.NotEqual(taken, server.SiloPort);
        Assert.Equal(httpPort, server.HttpPort);
        await server.CreateUserAsync("alice");
    }

    /// <summary>Starts <paramref name="server"/> while a listener holds <paramref name="port"/>, one of the ports it picked; returns that port.</summary>
    private static async Task<int> StartWhileHoldingAsync(ServerProcess server, int port)
    {
        using var squatter = new TcpListener(IPAddress.Loopback, port);
        squatter.Start();
        await server.StartAsync();
        return port;
    }
}
