using System.Text.Json;
using Parley.Core.Sessions;

namespace Parley.Compat.OpenIM.Tests;

/// <summary>
/// Issue 20 with the real <c>@openim/client-sdk@0.0.14</c> in Node: the replay position of a platform's ended connection
/// (what the edge pushes to its next connection, because the SDK's own gap fill throws) is stored durably, so a restart
/// of the server between the SDK's two sessions still ends without a hole. The server is restarted as an operator does:
/// the same port and data directory, the SDK process left running to reconnect by itself.
/// </summary>
public sealed class OpenImSdkResumeTests : IAsyncLifetime
{
    private OpenImTestServer _server = null!;

    public async Task InitializeAsync() => _server = await OpenImTestServer.StartAsync();

    public async Task DisposeAsync() => await _server.DisposeAsync();

    private static IEnumerable<JsonElement> WithText(NodeSdkClient sdk, string text) =>
        sdk.ReceivedMessages().Where(m => m.TryGetProperty("text", out var t) && t.GetString() == text);

    [Fact]
    public async Task Sdk_ServerRestartsBetweenSessions_TheReconnectIsPushedWhatItMissed_AndHistoryHasNoHole()
    {
        var oim = OpenImUsers.NewId("rr");
        var peer = OpenImUsers.NewId("rp");
        await OpenImUsers.RegisterAsync(_server, oim, peer);
        // The SDK's WebSocket goes through a gate, so the test decides when its reconnect gets through.
        await using var gate = new TcpGate(_server.BaseUri.Port);
        await using var sdk = await NodeSdkClient.LoggedInAsync(_server, oim, webSocketAddress: $"ws://127.0.0.1:{gate.Port}/openim/ws");
        await using (var before = await OpenImWsClient.LoginAsync(_server, peer, await OpenImUsers.TokenAsync(_server, peer)))
        {
            Assert.Equal(0, (await before.RequestAsync(1003, OpenImUsers.Text(peer, oim, "before the restart"))).ErrCode);
        }

        await sdk.UntilAsync(() => WithText(sdk, "before the restart").Any(), "the first message arrived live");
        var connects = sdk.Events(NodeSdkClient.CbConnectSuccess).Count();

        // The server drains the SDK's connection (1012), stops and starts again; the position lives in the database only.
        // The SDK's reconnects are refused until the message below is committed.
        gate.Open = false;
        _server = await _server.RestartAsync();
        var sessions = (ISessionControl)_server.Services.GetService(typeof(ISessionControl))!;
        await using var after = await OpenImWsClient.LoginAsync(_server, peer, await OpenImUsers.TokenAsync(_server, peer));
        Assert.Equal(0, (await after.RequestAsync(1003, OpenImUsers.Text(peer, oim, "while restarting"))).ErrCode);

        // Published before the send was answered, with no connection of the SDK's user: only a replay can bring it.
        Assert.Equal(0, sessions.CountConnections(oim));
        gate.Open = true;

        await sdk.UntilAsync(
            () => sdk.Events(NodeSdkClient.CbConnectSuccess).Count() > connects && sessions.CountConnections(oim) == 1,
            "the SDK reconnected to the restarted server by itself",
            TimeSpan.FromSeconds(45));
        await sdk.UntilAsync(() => WithText(sdk, "while restarting").Any(), "the restarted server pushed the message the SDK missed");
        Assert.Equal(2, WithText(sdk, "while restarting").Single().GetProperty("seq").GetInt64());

        Assert.Equal(0, (await after.RequestAsync(1003, OpenImUsers.Text(peer, oim, "after the restart"))).ErrCode);
        await sdk.UntilAsync(() => WithText(sdk, "after the restart").Any(), "a live message after the reconnect arrived");
        Assert.Equal(3, WithText(sdk, "after the restart").Single().GetProperty("seq").GetInt64());
        Assert.Single(WithText(sdk, "before the restart"));
        Assert.Single(WithText(sdk, "while restarting"));

        // No hole: the SDK's history (which starts from its cached max seq) shows all three, in order.
        var history = await sdk.OkAsync("history", new { conversationID = OpenImUsers.Direct(oim, peer) });
        var texts = history.GetProperty("messageList").EnumerateArray().Select(m => m.GetProperty("text").GetString()).ToList();
        Assert.Equal(["before the restart", "while restarting", "after the restart"], texts);
    }
}
