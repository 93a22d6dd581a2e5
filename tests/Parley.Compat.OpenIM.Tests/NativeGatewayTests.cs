using Parley.Protocol.V1;
using Parley.Sdk;

namespace Parley.Compat.OpenIM.Tests;

public sealed class NativeGatewayTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    private OpenImTestServer Server => fixture.Server;

    private ParleyClient CreateClient(string token, string deviceId, Platform platform) => new(new ParleyClientOptions
    {
        ServerUri = Server.WebSocketUri,
        Token = token,
        DeviceId = deviceId,
        Platform = platform,
        LocalState = new InMemoryParleyClientState(),
        ReconnectInitialDelay = TimeSpan.FromMilliseconds(50),
        ReconnectMaxDelay = TimeSpan.FromSeconds(1),
    });

    [Fact]
    public async Task An_openim_user_token_logs_in_on_the_gateway_and_force_logout_kicks_that_platform_only()
    {
        var admin = await Server.AdminTokenAsync();
        var userId = $"gw-{Guid.NewGuid():N}"[..16];
        Assert.Equal(0, (await Server.PostAsync("/user/user_register", new { users = new[] { new { userID = userId } } }, admin)).GetProperty("errCode").GetInt32());
        var webToken = (await Server.PostAsync("/auth/get_user_token", new { platformID = 5, userID = userId }, admin)).GetProperty("data").GetProperty("token").GetString()!;
        var androidToken = (await Server.PostAsync("/auth/get_user_token", new { platformID = 2, userID = userId }, admin)).GetProperty("data").GetProperty("token").GetString()!;

        await using var webClient = CreateClient(webToken, OpenImPlatforms.DeviceId(5), Platform.Web);
        await using var androidClient = CreateClient(androidToken, OpenImPlatforms.DeviceId(2), Platform.Android);
        var web = new Recorder(webClient);
        var android = new Recorder(androidClient);
        await webClient.ConnectAsync();
        await androidClient.ConnectAsync();

        var response = await Server.PostAsync("/auth/force_logout", new { platformID = 5, userID = userId }, admin);

        Assert.Equal(0, response.GetProperty("errCode").GetInt32());
        await Wait.UntilAsync(() => web.Kicks.Count == 1, "the web session was kicked", TimeSpan.FromSeconds(10));
        Assert.Equal(KickReason.ForceLogout, web.Kicks[0].Reason);
        await androidClient.PingAsync();
        Assert.Empty(android.Kicks);
        Assert.Equal(ConnectionState.Connected, androidClient.State);
    }
}
